//! The shell examples of the README and `docs/` run against a real `slipgate dev`, so
//! that what a user copies from the docs keeps working.
//!
//! The convention, for every Markdown file of the repository (outside `target/`):
//! - A fenced block whose info string is `sh`, `bash` or `shell` is **run**, with bash
//!   (`set -euo pipefail`), in the order of the document.
//! - A block that cannot run here is marked by an HTML comment on the line right above
//!   its fence, `<!-- docs-test: skip: REASON -->`; a document none of whose blocks can
//!   run has `<!-- docs-test: skip-all: REASON -->` anywhere in it. The reason is required.
//! - An expected result follows the command it belongs to as a comment line
//!   `# -> TEXT` (several may follow one command). When TEXT starts with `error`, the
//!   command must exit non-zero, otherwise zero; each `` `code span` `` in TEXT must
//!   appear in the command's output (stdout and stderr). Only stable parts go in code
//!   spans: problem codes, values the docs compute, never the wording of a message.
//!
//! The blocks run in the scratch directory of one `slipgate dev` ([`DevProcess`]), which
//! holds its data directory as `.slipgate-dev/` and links to the repository's top-level
//! files (`docs/`, `deploy/`, `crates/` …), with dev's profile directory as
//! `XDG_CONFIG_HOME`, `HOME` beside it and the freshly built `slipgate` first on `PATH`,
//! one block after the other (the README first: its logins are what later docs use).
//! dev listens on free ports;
//! the documented default URLs (`https://127.0.0.1:8443` and the other three `://` forms)
//! are replaced by the real ones before a block runs. Bare `127.0.0.1:8443` without a
//! scheme (the worked example's fixed `@authority`) is left alone.
//!
//! The README's two set-up commands (its first block) are the test command and the dev
//! server itself; they are marked as such in the README.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

use crate::dev::DevProcess;

const SKIP: &str = "<!-- docs-test: skip:";
const SKIP_ALL: &str = "<!-- docs-test: skip-all:";
/// A block that has not finished after this long has hung (a prompt, a dead server).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(180);

/// One fenced block of a document.
#[derive(Debug)]
struct Block {
    /// The document, relative to the repository root.
    doc: String,
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    code: String,
    /// `Some(reason)` when the block is marked as not runnable here.
    skip: Option<String>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Every Markdown file of the repository outside build output, sorted, README first.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || ["target", "node_modules", "__pycache__"].contains(&name.as_str()) {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else if name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    // The README is the first thing a user runs; its login is what later docs assume.
    files.sort_by_key(|p| (p != &root.join("README.md"), p.clone()));
    files
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// The marker's reason, which must not be empty.
fn reason(marker: &str, text: &str, doc: &str, line: usize) -> String {
    let rest = text.trim_start().strip_prefix(marker).unwrap();
    let reason = rest.trim().trim_end_matches("-->").trim();
    assert!(!reason.is_empty(), "{doc}:{line}: `{marker} … -->` needs a reason");
    reason.to_owned()
}

/// The fenced blocks of one document, with their skip markers.
fn blocks(doc: &str, text: &str) -> Vec<Block> {
    let skip_all = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with(SKIP_ALL))
        .map(|(i, l)| reason(SKIP_ALL, l, doc, i + 1));
    let mut out = Vec::new();
    let mut current: Option<(usize, String, String)> = None;
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let lang = info.split_whitespace().next().unwrap_or("").to_owned();
                current = Some((range.start, lang, String::new()));
            }
            Event::Text(t) => {
                if let Some((_, _, code)) = current.as_mut() {
                    code.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some((start, lang, code)) = current.take() else { continue };
                let line = line_of(text, start);
                let above = text[..start].trim_end_matches([' ', '\t']).strip_suffix('\n').unwrap_or("");
                let above = above.rsplit('\n').next().unwrap_or("");
                let skip = if above.trim_start().starts_with(SKIP) {
                    Some(reason(SKIP, above, doc, line - 1))
                } else {
                    skip_all.clone()
                };
                out.push(Block { doc: doc.to_owned(), line, lang, code, skip });
            }
            _ => {}
        }
    }
    out
}

fn is_shell(lang: &str) -> bool {
    matches!(lang, "sh" | "bash" | "shell")
}

/// A `# -> TEXT` line's TEXT.
fn expectation(line: &str) -> Option<&str> {
    line.trim_start().strip_prefix('#')?.trim_start().strip_prefix("->").map(str::trim)
}

/// The `code spans` of an expectation.
fn code_spans(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The bash script for one block: expectations become checks of the command above them.
fn script(block: &Block) -> String {
    let lines: Vec<&str> = block.code.lines().collect();
    // Index of the first line of the command each expectation belongs to, and its checks.
    let mut commands: Vec<(usize, usize, bool, Vec<String>)> = Vec::new(); // (first, last, fails, needles)
    let mut i = 0;
    while i < lines.len() {
        if expectation(lines[i]).is_none() {
            i += 1;
            continue;
        }
        let mut fails = false;
        let mut needles = Vec::new();
        let mut j = i;
        while j < lines.len() {
            let Some(text) = expectation(lines[j]) else { break };
            fails |= text.starts_with("error");
            needles.extend(code_spans(text));
            j += 1;
        }
        // The command above: the last non-comment line and the lines it continues.
        let mut last = i;
        while last > 0 && (lines[last - 1].trim().is_empty() || lines[last - 1].trim_start().starts_with('#'))
        {
            last -= 1;
        }
        assert!(last > 0, "{}:{}: `# ->` with no command above it", block.doc, block.line + i + 1);
        let last = last - 1;
        let mut first = last;
        while first > 0 {
            let above = lines[first - 1].trim_end();
            if above.ends_with('\\') || above.ends_with('|') || above.ends_with("&&") || above.ends_with("||")
            {
                first -= 1;
            } else {
                break;
            }
        }
        commands.push((first, last, fails, needles));
        i = j;
    }
    let mut out = String::from(
        "set -euo pipefail\n\
         trap 'echo \"docs-test: exit $? from: $BASH_COMMAND\" >&2' ERR\n\
         __sg_check() {\n\
           local at=$1 fails=$2 rc=$3 out=$4; shift 4\n\
           if [ \"$fails\" = 1 ] && [ \"$rc\" = 0 ]; then echo \"docs-test: $at: expected a failure, exited 0\" >&2; exit 101; fi\n\
           if [ \"$fails\" = 0 ] && [ \"$rc\" != 0 ]; then echo \"docs-test: $at: exited $rc\" >&2; exit 101; fi\n\
           for n in \"$@\"; do case \"$out\" in *\"$n\"*) ;; *) echo \"docs-test: $at: output lacks: $n\" >&2; exit 101;; esac; done\n\
         }\n",
    );
    let mut next = 0;
    for (first, last, fails, needles) in commands {
        for line in &lines[next..first] {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("if __sg_out=$( {\n");
        for line in &lines[first..=last] {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("} 2>&1 ); then __sg_rc=0; else __sg_rc=$?; fi\nprintf '%s\\n' \"$__sg_out\"\n");
        let needles: Vec<String> = needles.iter().map(|n| single_quoted(n)).collect();
        // The command's last line, as `doc:line`: the fence is `block.line`.
        let at = single_quoted(&format!("{}:{}", block.doc, block.line + last + 1));
        out.push_str(&format!(
            "__sg_check {at} {} \"$__sg_rc\" \"$__sg_out\" {}\n",
            u8::from(fails),
            needles.join(" ")
        ));
        next = last + 1;
    }
    for line in &lines[next..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The documented default URLs and the real ones of a running dev.
fn substitutions(dev: &DevProcess) -> Vec<(String, String)> {
    let mut subs = Vec::new();
    for (key, default) in [
        ("api_url", "https://127.0.0.1:8443"),
        ("idp_url", "https://127.0.0.1:8444"),
        ("admin_url", "http://127.0.0.1:9464"),
        ("idp_admin_url", "http://127.0.0.1:9465"),
    ] {
        if let Some(real) = dev.dev_json[key].as_str() {
            subs.push((default.to_owned(), real.trim_end_matches('/').to_owned()));
        }
    }
    subs
}

/// The environment of every block: no `SLIPGATE_*` from the test's own environment,
/// `HOME` in the scratch directory, dev's profile directory, the built binary first on `PATH`.
#[allow(
    clippy::disallowed_methods,
    reason = "the blocks run with the test machine's own tools (bash, jq, curl, openssl, python3) on its PATH"
)]
fn clean_env(home: &Path, config_home: &Path) -> Vec<(String, String)> {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_slipgate")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut env = vec![
        ("PATH".to_owned(), path),
        ("HOME".to_owned(), home.display().to_string()),
        ("XDG_CONFIG_HOME".to_owned(), config_home.display().to_string()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ("TERM".to_owned(), "dumb".to_owned()),
    ];
    for key in ["TMPDIR", "PYENV_ROOT", "PYENV_VERSION"] {
        if let Ok(value) = std::env::var(key) {
            env.push((key.to_owned(), value));
        }
    }
    env
}

/// Runs one block; `Err` holds what a reader needs to fix the doc.
fn run_block(
    block: &Block,
    work: &Path,
    env: &[(String, String)],
    subs: &[(String, String)],
    timeout: Duration,
) -> Result<(), String> {
    let mut code = script(block);
    for (from, to) in subs {
        code = code.replace(from.as_str(), to);
    }
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&code)
        // Its own process group, so a hung block is stopped with everything it started.
        .process_group(0)
        .current_dir(work)
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain both pipes on threads so a chatty block cannot fill them and stall.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut s).unwrap();
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            break None;
        }
        #[allow(
            clippy::disallowed_methods,
            reason = "polls a real child process: there is no event to await"
        )]
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
    let err = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    match status {
        Some(s) if s.success() => Ok(()),
        other => Err(format!(
            "{}:{}: the ```{} block {}\n--- block ---\n{}--- stdout ---\n{}--- stderr ---\n{}",
            block.doc,
            block.line,
            block.lang,
            match other {
                Some(s) => format!("failed ({s})"),
                None => format!("did not finish within {} s", timeout.as_secs()),
            },
            block.code,
            out,
            err
        )),
    }
}

/// Links the repository's top-level entries into dev's scratch directory (the blocks'
/// working directory) and makes `home/` there.
fn scratch(root: &Path, dev: &DevProcess) -> PathBuf {
    let work = dev.config_home.parent().unwrap();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        std::os::unix::fs::symlink(&path, work.join(&name)).unwrap();
    }
    let home = work.join("home");
    std::fs::create_dir(&home).unwrap();
    home
}

#[test]
fn shell_examples_of_the_readme_and_docs_run_against_slipgate_dev() {
    let root = repo_root();
    let mut runnable = Vec::new();
    for path in markdown_files(&root) {
        let doc = path.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        runnable.extend(blocks(&doc, &text).into_iter().filter(|b| is_shell(&b.lang) && b.skip.is_none()));
    }
    // The README's examples after the set-up commands are the heart of it: if the
    // convention ever stopped finding them, this test would pass while checking nothing.
    let readme = runnable.iter().filter(|b| b.doc == "README.md").count();
    assert!(readme >= 2, "expected the README's example blocks to run, found {readme}");
    assert!(runnable.iter().any(|b| b.doc.starts_with("docs/")), "no runnable block in docs/");

    // dev's data directory is `.slipgate-dev` in the blocks' working directory, as after
    // the README's `cargo run --release -- dev`.
    let dev = DevProcess::start_in(".slipgate-dev", &[]);
    let home = scratch(&root, &dev);
    let subs = substitutions(&dev);
    let work = dev.config_home.parent().unwrap();
    let env = clean_env(&home, &dev.config_home);
    let failures: Vec<String> = runnable
        .iter()
        .filter_map(|block| run_block(block, work, &env, &subs, BLOCK_TIMEOUT).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} doc blocks failed:\n\n{}",
        failures.len(),
        runnable.len(),
        failures.join("\n\n")
    );
}

#[test]
fn doc_examples_convention_marks_skips_with_reasons_and_checks_expectations() {
    let text = "intro\n\n<!-- docs-test: skip: needs systemd -->\n```sh\nsystemctl start x\n```\n\n\
                ```sh\nfalse_cmd arg \\\n  more\n#   -> error: 403 `forbidden`\necho ok\n# -> `ok`\n```\n";
    let found = blocks("x.md", text);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].skip.as_deref(), Some("needs systemd"));
    assert_eq!(found[1].skip, None);
    assert_eq!(found[1].line, 8);
    let s = script(&found[1]);
    assert!(s.contains("if __sg_out=$( {\nfalse_cmd arg \\\n  more\n} 2>&1 )"), "{s}");
    assert!(s.contains("__sg_check 'x.md:10' 1 \"$__sg_rc\" \"$__sg_out\" 'forbidden'"), "{s}");
    assert!(s.contains("__sg_check 'x.md:12' 0 \"$__sg_rc\" \"$__sg_out\" 'ok'"), "{s}");

    // The generated checks hold as documented, run by bash itself.
    let run = |code: &str| {
        let block = Block { doc: "x.md".into(), line: 1, lang: "sh".into(), code: code.into(), skip: None };
        Command::new("bash").arg("-c").arg(script(&block)).output().unwrap().status.success()
    };
    assert!(run("echo 'error: 403 forbidden' >&2; exit 1\n# -> error `forbidden`\n"));
    assert!(run("(echo 'error: 403 forbidden' >&2; exit 1)\n# -> error `forbidden`\necho after\n"));
    assert!(!run("echo fine\n# -> error `fine`\n"), "an expected failure that succeeds");
    assert!(!run("(exit 3)\n# -> `x`\n"), "an expected success that fails");
    assert!(!run("echo 'something else'\n# -> `forbidden`\n"), "output without the code span");
    assert!(!run("false\necho unreachable\n"), "set -e stops at the first failing command");
    assert!(!run("false | cat\n"), "pipefail");
    let skip_all = "<!-- docs-test: skip-all: benchmarks -->\n```sh\ncargo bench\n```\n";
    assert_eq!(blocks("p.md", skip_all)[0].skip.as_deref(), Some("benchmarks"));

    // A block that hangs is stopped, with what it started, and reported.
    let dir = tempfile::tempdir().unwrap();
    let hung = Block {
        doc: "h.md".into(),
        line: 1,
        lang: "sh".into(),
        code: "sleep 600 &\nsleep 600\n".into(),
        skip: None,
    };
    let err = run_block(&hung, dir.path(), &[], &[], Duration::from_secs(1)).unwrap_err();
    assert!(err.contains("did not finish within 1 s"), "{err}");
}

/// `slipgate <path> --help`, as text.
fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_slipgate")).args(path).arg("--help").output().unwrap();
    assert!(out.status.success(), "slipgate {path:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands a help text lists (its `Commands:` section, without `help`).
fn subcommands(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A name is indented by two spaces; a wrapped description, by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The long flags a help text's `Options:` section defines.
fn options(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|l| !l.starts_with("Options:"))
        .filter(|l| l.trim_start().starts_with('-'))
        .flat_map(|l| l.split([' ', ',']).filter(|w| w.starts_with("--")))
        .collect()
}

#[test]
fn every_help_example_is_a_line_of_its_own_naming_its_command_and_existing_flags() {
    let mut pending = vec![Vec::<String>::new()];
    let mut examples = 0;
    while let Some(path) = pending.pop() {
        let text = help(&path);
        for name in subcommands(&text) {
            let mut sub = path.clone();
            sub.push(name);
            pending.push(sub);
        }
        let command = format!("slipgate {}", path.join(" "));
        for line in text.lines().filter(|l| l.contains("Example:")) {
            assert_eq!(
                line.matches("Example:").count(),
                1,
                "`{command} --help` runs examples together: {line}"
            );
            let example = line.trim().trim_start_matches("Example:").trim();
            assert!(
                (example.starts_with(command.trim_end())
                    || example.contains(&format!("| {}", command.trim_end()))),
                "`{command} --help` shows another command: {line}"
            );
            for flag in example.split_whitespace().filter(|w| w.starts_with("--")) {
                let flag = flag.split('=').next().unwrap_or(flag);
                assert!(
                    options(&text).contains(&flag),
                    "`{command} --help` shows {flag}, which it lacks: {line}"
                );
            }
            examples += 1;
        }
    }
    // Guards the walk itself: the binary's help has dozens of examples.
    assert!(examples >= 20, "found only {examples} examples");
}
