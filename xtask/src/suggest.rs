//! "Did you mean …?": the closest known name to a mistyped one.
//!
//! Commands, options, boards and example names are few, so a plain edit distance over all of
//! them is enough. The distance is the optimal-string-alignment one (insertions, deletions,
//! substitutions and swaps of two neighbouring characters each cost 1), so `tset` is one step
//! from `test`. A name counts as close when it is at most a third of its length away (at
//! least 1), or when the typed word is the start of exactly one name (`rpi` → `rpi-zero2w`).

/// The edit distance between `a` and `b`, ignoring case (see the module docs).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; only three rows are ever needed.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

/// The known name closest to `word`, if one is close enough (see the module docs).
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let known: Vec<&str> = known.into_iter().collect();
    let near = known
        .iter()
        .map(|&name| (distance(word, name), name))
        .filter(|&(d, name)| d > 0 && d <= (name.chars().count().max(3) / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, name)| name);
    near.or_else(|| {
        let lower = word.to_lowercase();
        let mut starting = known
            .iter()
            .filter(|name| lower.len() >= 2 && name.to_lowercase().starts_with(&lower));
        match (starting.next(), starting.next()) {
            (Some(&only), None) if only.len() > word.len() => Some(only),
            _ => None,
        }
    })
}

/// `"; did you mean `NAME`?"` when a known name is close to `word`, else nothing.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, known).map_or(String::new(), |name| format!("; did you mean `{name}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("test", "test"), 0);
        assert_eq!(distance("tset", "test"), 1, "a swap is one step");
        assert_eq!(distance("bnech", "bench"), 1);
        assert_eq!(distance("exampel", "example"), 1);
        assert_eq!(distance("--exmple", "--example"), 1);
        assert_eq!(distance("Run", "run"), 0, "case is ignored");
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(
            distance("ca", "abc"),
            3,
            "optimal string alignment, not full Damerau"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        let commands = ["run", "test", "image", "bench", "fuzz", "help"];
        assert_eq!(closest("tset", commands), Some("test"));
        assert_eq!(closest("rnu", commands), Some("run"));
        assert_eq!(closest("imgae", commands), Some("image"));
        assert_eq!(closest("benhc", commands), Some("bench"));
        assert_eq!(closest("build", commands), None);
        assert_eq!(
            closest("test", commands),
            None,
            "an exact name is no suggestion"
        );
        let examples = [
            "demo",
            "mutex",
            "ping_pong",
            "semaphore",
            "sleep",
            "sync_tools",
        ];
        assert_eq!(closest("dmeo", examples), Some("demo"));
        assert_eq!(closest("pingpong", examples), Some("ping_pong"));
        assert_eq!(closest("semafore", examples), Some("semaphore"));
        assert_eq!(closest("sleeep", examples), Some("sleep"));
        assert_eq!(closest("xyz", examples), None);
        // The start of exactly one name.
        assert_eq!(closest("rpi", ["virt", "rpi-zero2w"]), Some("rpi-zero2w"));
        assert_eq!(closest("s", examples), None, "too short to be a start");
        assert_eq!(closest("s", ["sleep"]), None);
        assert_eq!(closest("se", ["semaphore", "sleep"]), Some("semaphore"));
        assert_eq!(closest("se", ["semaphore", "send"]), None, "not unique");
        assert_eq!(
            did_you_mean("--filtre", ["--board", "--jobs", "--filter"]),
            "; did you mean `--filter`?"
        );
        assert_eq!(did_you_mean("--zzz", ["--board"]), "");
    }
}
