//! The operation mix of `lifecycle`: how often each kind of operation is drawn, parsed from
//! `--mix send=60,edit=15,react=20,delete=5`, and the order the draws follow.
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A kind of operation of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// `message:send`.
    Send,
    /// `message:edit` of one of the client's own recent messages.
    Edit,
    /// `reaction:add` or `reaction:remove` (a toggle) on a recent message of the conversation.
    React,
    /// `message:delete` of one of the client's own recent messages.
    Delete,
}

impl OpKind {
    /// Every kind, in the order of [`Mix`]'s fields.
    pub const ALL: [OpKind; 4] = [OpKind::Send, OpKind::Edit, OpKind::React, OpKind::Delete];

    /// The name used in `--mix`.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Send => "send",
            OpKind::Edit => "edit",
            OpKind::React => "react",
            OpKind::Delete => "delete",
        }
    }
}

/// Relative weights of the operations (they need not add up to 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mix {
    /// Weight of sends.
    pub send: u32,
    /// Weight of edits.
    pub edit: u32,
    /// Weight of reaction toggles.
    pub react: u32,
    /// Weight of deletes.
    pub delete: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            send: 60,
            edit: 15,
            react: 20,
            delete: 5,
        }
    }
}

impl Mix {
    /// The weight of one kind.
    pub fn weight(&self, kind: OpKind) -> u32 {
        match kind {
            OpKind::Send => self.send,
            OpKind::Edit => self.edit,
            OpKind::React => self.react,
            OpKind::Delete => self.delete,
        }
    }

    fn weight_mut(&mut self, kind: OpKind) -> &mut u32 {
        match kind {
            OpKind::Send => &mut self.send,
            OpKind::Edit => &mut self.edit,
            OpKind::React => &mut self.react,
            OpKind::Delete => &mut self.delete,
        }
    }

    /// Sum of the weights.
    pub fn total(&self) -> u64 {
        OpKind::ALL.iter().map(|&k| u64::from(self.weight(k))).sum()
    }

    /// The draws: the kinds in proportion to their weights, interleaved as evenly as possible
    /// (smooth weighted round-robin), the same on every run.
    pub fn draws(&self) -> Draws {
        Draws {
            mix: *self,
            credit: [0; 4],
        }
    }
}

impl FromStr for Mix {
    type Err = String;

    /// `kind=weight` pairs separated by commas; kinds left out weigh 0. Sends must weigh
    /// something: the other operations act on messages sent during the run.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut mix = Mix {
            send: 0,
            edit: 0,
            react: 0,
            delete: 0,
        };
        let mut seen = Vec::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = pair
                .split_once('=')
                .ok_or_else(|| format!("expected kind=weight, got {pair:?}"))?;
            let kind = OpKind::ALL
                .into_iter()
                .find(|k| k.name() == name.trim())
                .ok_or_else(|| format!("unknown operation {name:?} (send, edit, react, delete)"))?;
            if seen.contains(&kind) {
                return Err(format!("{name} given twice"));
            }
            seen.push(kind);
            *mix.weight_mut(kind) = weight
                .trim()
                .parse()
                .map_err(|_| format!("weight of {name} must be a whole number, got {weight:?}"))?;
        }
        if mix.send == 0 {
            return Err("send must weigh more than 0: the other operations need messages".into());
        }
        if mix.total() > 1_000_000 {
            return Err("weights must add up to at most 1000000".into());
        }
        Ok(mix)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "send={},edit={},react={},delete={}",
            self.send, self.edit, self.react, self.delete
        )
    }
}

/// An endless sequence of kinds following a [`Mix`].
#[derive(Debug, Clone)]
pub struct Draws {
    mix: Mix,
    credit: [i64; 4],
}

impl Iterator for Draws {
    type Item = OpKind;

    fn next(&mut self) -> Option<OpKind> {
        let total = i64::try_from(self.mix.total()).ok()?;
        let mut best: Option<usize> = None;
        for (i, &kind) in OpKind::ALL.iter().enumerate() {
            self.credit[i] += i64::from(self.mix.weight(kind));
            if best.is_none_or(|b| self.credit[i] > self.credit[b]) {
                best = Some(i);
            }
        }
        let best = best?;
        self.credit[best] -= total;
        Some(OpKind::ALL[best])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(draws: impl Iterator<Item = OpKind>, kind: OpKind) -> usize {
        draws.filter(|&k| k == kind).count()
    }

    #[test]
    fn parses_and_prints_the_mix() {
        let mix: Mix = "send=60,edit=15,react=20,delete=5".parse().expect("parses");
        assert_eq!(mix, Mix::default());
        assert_eq!(mix.to_string().parse::<Mix>(), Ok(mix));
        let sends_only: Mix = " send = 1 ".parse().expect("parses");
        assert_eq!((sends_only.send, sends_only.total()), (1, 1));
        for bad in [
            "",
            "edit=10",
            "send=0,edit=1",
            "send=10,shout=1",
            "send=ten",
            "send=1,send=2",
            "send",
            "send=-1",
        ] {
            assert!(bad.parse::<Mix>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn draws_follow_the_weights_evenly() {
        let mix = Mix::default();
        // Exact over every 100 draws, and close within any 20.
        let hundred: Vec<OpKind> = mix.draws().take(100).collect();
        for kind in OpKind::ALL {
            assert_eq!(
                count(hundred.iter().copied(), kind),
                mix.weight(kind) as usize
            );
            assert_eq!(
                count(mix.draws().skip(100).take(100), kind),
                mix.weight(kind) as usize
            );
        }
        for window in hundred.windows(20) {
            let sends = count(window.iter().copied(), OpKind::Send);
            let deletes = count(window.iter().copied(), OpKind::Delete);
            assert!((11..=13).contains(&sends), "{window:?}");
            assert!(deletes <= 2, "{window:?}");
        }
        let no_edits = Mix {
            edit: 0,
            ..Mix::default()
        };
        assert_eq!(count(no_edits.draws().take(1000), OpKind::Edit), 0);
    }
}
