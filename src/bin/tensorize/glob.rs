//! `--layers` patterns: shell-style `*` (any run of characters, dots included) and `?` (one
//! character), several patterns separated by commas; a name is chosen if any pattern matches
//! it whole. Tensor names are dotted paths (`h.3.mlp.c_fc.weight`), so `*` crossing dots is what
//! a user means by `h.*.mlp.*`.

/// A set of patterns.
#[derive(Clone, Debug)]
pub struct Patterns(Vec<Vec<char>>);

impl Patterns {
    /// Parses a comma-separated list (empty entries are ignored).
    pub fn parse(list: &str) -> Self {
        Self(list.split(',').filter(|p| !p.is_empty()).map(|p| p.chars().collect()).collect())
    }

    /// Whether any pattern matches all of `name`.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        self.0.iter().any(|p| matches(p, &name))
    }
}

/// Iterative wildcard matching with one backtrack point (the last `*`): linear in practice.
fn matches(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::Patterns;

    #[test]
    fn stars_cross_dots_and_lists_are_alternatives() {
        let p = Patterns::parse("h.*.mlp.*,lm_head.weight");
        assert!(p.matches("h.11.mlp.c_fc.weight"));
        assert!(p.matches("lm_head.weight"));
        assert!(!p.matches("h.11.attn.c_attn.weight"));
        assert!(!p.matches("lm_head.weight2"));
        assert!(Patterns::parse("fc?").matches("fc1"));
        assert!(!Patterns::parse("fc?").matches("fc10"));
        assert!(Patterns::parse("*").matches(""));
        assert!(!Patterns::parse("").matches("x"));
    }
}
