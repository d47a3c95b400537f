//! `herald completions` and `herald man`: completions for every shell clap knows and a man
//! page per command, both naming every command `--help` lists.

use crate::common::Scratch;

/// The commands `herald --help` lists.
fn commands(s: &Scratch) -> Vec<String> {
    let help = s.run(&["--help"]).success().stdout;
    help.split("Commands:")
        .nth(1)
        .expect("a list of commands")
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn completions_name_every_command_in_every_shell() {
    let s = Scratch::new();
    let commands = commands(&s);
    assert!(commands.len() > 10, "{commands:?}");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = s.run(&["completions", shell]).success().stdout;
        for command in &commands {
            assert!(script.contains(command.as_str()), "{shell}: {command}");
        }
    }
    s.run(&["completions", "tcsh"]).failure();
}

#[test]
fn a_man_page_is_written_for_herald_and_each_command() {
    let s = Scratch::new();
    let out = s.path("man");
    s.run(&["man", "--out", &out]).success();
    for page in std::iter::once("herald".to_owned())
        .chain(commands(&s).iter().map(|c| format!("herald-{c}")))
        .chain(["herald-keys-create".to_owned()])
    {
        let text = std::fs::read_to_string(format!("{out}/{page}.1"))
            .unwrap_or_else(|e| panic!("{page}.1: {e}"));
        assert!(text.contains(&format!(".TH {page} 1")), "{page}: {text}");
    }
}
