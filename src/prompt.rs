//! The analyst's decision on the flagged IOCs: remove them from tracking (yes) or mark their
//! Status `Malicious` (no). Who answers is decided once, before any request is spent:
//! `--yes`/`--no`, the terminal (dialoguer), or — with no terminal and neither flag — nobody, in
//! which case nothing is removed (the safe answer) and the run says to use `--yes`.
//!
//! It never waits on a closed stdin: dialoguer reads the controlling terminal, so it is only used
//! when both stdin and stderr are terminals.

use std::io::IsTerminal;

use serde::Serialize;

/// The answer to "remove the flagged IOCs from tracking?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// yes: move the rows to `Removed IOCs`
    Remove,
    /// no: set Status to `Malicious`
    Mark,
}

/// Who answers the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decider {
    /// `--yes`
    AssumeYes,
    /// `--no`
    AssumeNo,
    /// the analyst at the terminal
    Terminal,
    /// no terminal and neither flag: mark, never remove
    NonInteractive,
}

/// Why the question could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error(
        "could not ask at the terminal ({0}); answer with --yes (remove) or --no (mark Malicious)"
    )]
    Terminal(String),
}

impl Decider {
    /// From the flags and whether stdin and stderr are terminals.
    pub fn from_flags(yes: bool, no: bool) -> Decider {
        let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Decider::choose(yes, no, tty)
    }

    /// The pure rule behind [`Decider::from_flags`].
    pub fn choose(yes: bool, no: bool, tty: bool) -> Decider {
        match (yes, no, tty) {
            (true, _, _) => Decider::AssumeYes,
            (false, true, _) => Decider::AssumeNo,
            (false, false, true) => Decider::Terminal,
            (false, false, false) => Decider::NonInteractive,
        }
    }

    /// Who answered, for the journal and `--json`: "--yes", "--no", "analyst", "default (no terminal)".
    pub fn who(self) -> &'static str {
        match self {
            Decider::AssumeYes => "--yes",
            Decider::AssumeNo => "--no",
            Decider::Terminal => "analyst",
            Decider::NonInteractive => "default (no terminal)",
        }
    }

    /// Ask (or answer for) the question about `flagged` IOCs.
    pub fn ask(self, flagged: usize) -> Result<Answer, PromptError> {
        match self {
            Decider::AssumeYes => Ok(Answer::Remove),
            Decider::AssumeNo | Decider::NonInteractive => Ok(Answer::Mark),
            Decider::Terminal => {
                let question = format!(
                    "Remove the {flagged} flagged IOC{} from tracking? (no: keep them, Status Malicious)",
                    if flagged == 1 { "" } else { "s" }
                );
                dialoguer::Confirm::new()
                    .with_prompt(question)
                    .default(false)
                    .interact_on(&console::Term::stderr())
                    .map(|yes| if yes { Answer::Remove } else { Answer::Mark })
                    .map_err(|e| PromptError::Terminal(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_terminal() {
        assert_eq!(Decider::choose(true, false, false), Decider::AssumeYes);
        assert_eq!(Decider::choose(false, true, true), Decider::AssumeNo);
        assert_eq!(Decider::choose(false, false, true), Decider::Terminal);
        assert_eq!(
            Decider::choose(false, false, false),
            Decider::NonInteractive
        );
    }

    #[test]
    fn without_a_terminal_nothing_is_removed() {
        assert_eq!(Decider::NonInteractive.ask(3).unwrap(), Answer::Mark);
        assert_eq!(Decider::AssumeNo.ask(3).unwrap(), Answer::Mark);
        assert_eq!(Decider::AssumeYes.ask(3).unwrap(), Answer::Remove);
    }
}
