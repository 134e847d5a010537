//! The process table as a tree: children under their parent, in the
//! table's sort order at every level, with `├─`/`└─` guides. Pure; safe on
//! any input (a remote host may send parent links that loop or point nowhere).

use std::collections::{HashMap, HashSet};

use crate::protocol::ProcInfo;

/// Deeper levels are drawn at this depth (guides would fill the column).
const MAX_DEPTH: usize = 32;

/// `procs` (already filtered and sorted) rearranged as a tree, with the guide
/// to draw before each name. A process whose parent is not in the list is a
/// root; one only reachable through a loop is listed after the tree, flat.
pub fn arrange(procs: Vec<ProcInfo>) -> (Vec<ProcInfo>, Vec<String>) {
    let pids: HashSet<u32> = procs.iter().map(|p| p.pid).collect();
    let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, p) in procs.iter().enumerate() {
        match p.ppid.filter(|pp| *pp != p.pid && pids.contains(pp)) {
            Some(pp) => children.entry(pp).or_default().push(i),
            None => roots.push(i),
        }
    }
    let mut order: Vec<(usize, String)> = Vec::with_capacity(procs.len());
    let mut seen = vec![false; procs.len()];
    // (index, guide of the ancestors, is last among its siblings, depth)
    let mut stack: Vec<(usize, String, bool, usize)> =
        roots.iter().rev().enumerate().map(|(k, &i)| (i, String::new(), k == 0, 0)).collect();
    while let Some((i, above, last, depth)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        let guide =
            if depth == 0 { String::new() } else { format!("{above}{}", if last { "└─" } else { "├─" }) };
        order.push((i, guide));
        let below = if depth == 0 { String::new() } else { format!("{above}{}", if last { "  " } else { "│ " }) };
        let kids = children.get(&procs[i].pid).map(Vec::as_slice).unwrap_or_default();
        let d = (depth + 1).min(MAX_DEPTH);
        let below = if depth + 1 > MAX_DEPTH { above.clone() } else { below };
        for (k, &c) in kids.iter().enumerate().rev() {
            stack.push((c, below.clone(), k + 1 == kids.len(), d));
        }
    }
    // Loops: never reached from a root.
    order.extend((0..procs.len()).filter(|i| !seen[*i]).map(|i| (i, String::new())));
    let mut slots: Vec<Option<ProcInfo>> = procs.into_iter().map(Some).collect();
    order.into_iter().map(|(i, g)| (slots[i].take().unwrap_or_default(), g)).unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, ppid: Option<u32>) -> ProcInfo {
        ProcInfo { pid, ppid, name: format!("p{pid}"), ..Default::default() }
    }

    #[test]
    fn children_sit_under_their_parent_in_sort_order() {
        // Sorted as the table is: 5 before 2 before 1 …
        let procs = vec![p(5, Some(2)), p(2, Some(1)), p(1, None), p(7, Some(1)), p(9, Some(42)), p(3, Some(2))];
        let (v, g) = arrange(procs);
        let rows: Vec<(u32, &str)> = v.iter().map(|p| p.pid).zip(g.iter().map(String::as_str)).collect();
        assert_eq!(rows, vec![(1, ""), (2, "├─"), (5, "│ ├─"), (3, "│ └─"), (7, "└─"), (9, "")]);
    }

    #[test]
    fn loops_and_self_parents_never_hang_or_lose_a_process() {
        let procs = vec![p(1, Some(2)), p(2, Some(1)), p(3, Some(3)), p(4, Some(3))];
        let (v, g) = arrange(procs);
        let mut pids: Vec<u32> = v.iter().map(|p| p.pid).collect();
        pids.sort();
        assert_eq!(pids, vec![1, 2, 3, 4], "every process once");
        assert_eq!(g.len(), 4);
        // A chain deeper than the guide column stays bounded.
        let deep: Vec<ProcInfo> = (1..500).map(|i| p(i, if i == 1 { None } else { Some(i - 1) })).collect();
        let (v, g) = arrange(deep);
        assert_eq!(v.len(), 499);
        assert!(g.iter().all(|x| x.chars().count() <= 2 * MAX_DEPTH + 2), "guides are bounded");
    }
}
