#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    opsdeck::cli::main()
}
