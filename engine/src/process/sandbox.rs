//! Extraction where it cannot hurt the server: each file that is not plain text is extracted
//! by a child process of the same binary (`tributary extract-one`), under resource limits
//! (address space, CPU time, no core files, few open files) and a wall-clock limit after which
//! it is killed. A file that overflows the extractor's stack, exhausts its memory or loops
//! takes down only its child: it is `failed` with the reason, and the pipeline goes on. (In
//! process, a stack overflow aborts the whole server, and the claim's lease then hands the
//! same file to the next start: a crash loop.)
//!
//! The child reads the blob itself (the parent passes the blob store's directory, the hash and
//! the name) and writes one JSON object to standard output: `{"media_type", "text"}`,
//! `{"media_type", "metadata_only": true}` or `{"media_type", "failed"}`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use super::extract::{self, Extracted};
use crate::blobs::BlobStore;

/// The subcommand the binary runs as an extraction child.
pub const SUBCOMMAND: &str = "extract-one";

/// How a child is limited.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Address space (RLIMIT_AS), bytes.
    pub address_space: u64,
    /// CPU time (RLIMIT_CPU), seconds: the kernel stops a child that computes longer.
    pub cpu_secs: u64,
    /// Wall-clock time, after which the child is killed.
    pub wall: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            address_space: 4 << 30,
            cpu_secs: 30,
            wall: Duration::from_secs(30),
        }
    }
}

/// Runs extractions in child processes of `exe`.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub exe: PathBuf,
    pub limits: Limits,
}

#[derive(Serialize, Deserialize)]
struct Answer {
    media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    metadata_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failed: Option<String>,
}

impl From<Extracted> for Answer {
    fn from(e: Extracted) -> Self {
        match e {
            Extracted::Text { media_type, body } => Answer {
                media_type,
                text: Some(body),
                metadata_only: false,
                failed: None,
            },
            Extracted::MetadataOnly { media_type } => Answer {
                media_type,
                text: None,
                metadata_only: true,
                failed: None,
            },
            Extracted::Failed { media_type, reason } => Answer {
                media_type,
                text: None,
                metadata_only: false,
                failed: Some(reason),
            },
        }
    }
}

impl From<Answer> for Extracted {
    fn from(a: Answer) -> Self {
        match (a.text, a.failed) {
            (_, Some(reason)) => Extracted::Failed {
                media_type: a.media_type,
                reason,
            },
            (Some(body), None) => Extracted::Text {
                media_type: a.media_type,
                body,
            },
            (None, None) => Extracted::MetadataOnly {
                media_type: a.media_type,
            },
        }
    }
}

impl Sandbox {
    /// Extracts blob `hash` (named `name`) of the store at `blob_dir` in a child. `Err` is the
    /// reason the file failed for (the child crashed, ran out of memory or time).
    pub async fn extract(
        &self,
        blob_dir: &std::path::Path,
        hash: &str,
        name: &str,
    ) -> Result<Extracted, String> {
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.arg(SUBCOMMAND)
            .arg(blob_dir)
            .arg(hash)
            .arg(name)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Nothing of the server's configuration (database URL, wallet key) goes along.
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        let limits = self.limits.clone();
        // SAFETY: the closure runs in the child between fork and exec and only calls
        // setrlimit, which is async-signal-safe; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                let set = |what, n: u64| {
                    let l = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(what, &l) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                };
                set(libc::RLIMIT_AS, limits.address_space)?;
                set(libc::RLIMIT_CPU, limits.cpu_secs)?;
                set(libc::RLIMIT_CORE, 0)?;
                set(libc::RLIMIT_NOFILE, 64)?;
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("the extractor could not be started: {e}"))?;
        let stdout = child.stdout.take().ok_or("no extractor output")?;
        let stderr = child.stderr.take().ok_or("no extractor output")?;
        let run = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            // A child that writes more than the largest answer is not believed.
            let mut stdout = stdout.take((extract::MAX_TEXT_BYTES * 7 + 4096) as u64);
            let mut stderr = stderr.take(4096);
            let (o, e) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
            o.map_err(|e| format!("reading the extractor: {e}"))?;
            let _ = e;
            let status = child
                .wait()
                .await
                .map_err(|e| format!("waiting for the extractor: {e}"))?;
            Ok::<_, String>((status, out, err))
        };
        let (status, out, err) = match tokio::time::timeout(self.limits.wall, run).await {
            Ok(r) => r?,
            Err(_) => {
                // Dropping the future dropped the child, which kills it (kill_on_drop).
                return Err(format!(
                    "timed out: extraction took longer than {} s and was stopped",
                    self.limits.wall.as_secs()
                ));
            }
        };
        if status.success() {
            return serde_json::from_slice::<Answer>(&out)
                .map(Extracted::from)
                .map_err(|e| format!("corrupt: the extractor's answer was unreadable ({e})"));
        }
        Err(crashed(status, &String::from_utf8_lossy(&err)))
    }
}

/// Why a child ended without an answer, in words.
fn crashed(status: std::process::ExitStatus, stderr: &str) -> String {
    use std::os::unix::process::ExitStatusExt;
    let said = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    match status.signal() {
        Some(libc::SIGXCPU) | Some(libc::SIGKILL) if said.is_empty() => {
            "timed out: the extraction used up its CPU time".into()
        }
        Some(libc::SIGXCPU) => "timed out: the extraction used up its CPU time".into(),
        Some(libc::SIGSEGV) | Some(libc::SIGABRT)
            if stderr.contains("stack overflow") || stderr.contains("overflowed its stack") =>
        {
            "corrupt: the file nests too deeply to extract (the extractor's stack overflowed)"
                .into()
        }
        _ if stderr.contains("memory allocation")
            || stderr.contains("out of memory")
            || stderr.contains("MemoryError") =>
        {
            "too large: extracting it needed more memory than the limit".into()
        }
        Some(sig) => format!(
            "corrupt: the extractor stopped on signal {sig}{}",
            if said.is_empty() {
                String::new()
            } else {
                format!(" ({})", crate::egress::sanitise(said))
            }
        ),
        None => format!(
            "corrupt: the extractor failed ({})",
            crate::egress::sanitise(if said.is_empty() {
                "no reason given"
            } else {
                said
            })
        ),
    }
}

/// The child's side: `extract-one <blob dir> <hash> <name>` extracts and prints the answer.
/// Returns the exit code.
pub fn child_main(args: &[String]) -> i32 {
    let [blob_dir, hash, name] = args else {
        eprintln!("usage: tributary {SUBCOMMAND} <blob dir> <hash> <name>");
        return 2;
    };
    let blobs = BlobStore::new(PathBuf::from(blob_dir));
    let answer: Answer = match blobs.size(hash) {
        Ok(size) if size as usize > extract::MAX_INPUT_BYTES => Extracted::Failed {
            media_type: String::new(),
            reason: format!(
                "too large: {} MB, over the {} MB extraction limit",
                size / (1024 * 1024),
                extract::MAX_INPUT_BYTES / (1024 * 1024)
            ),
        }
        .into(),
        Ok(_) => match blobs.read(hash) {
            Ok(bytes) => extract::extract(name, &bytes).into(),
            Err(e) => {
                eprintln!("content unreadable: {e}");
                return 1;
            }
        },
        Err(e) => {
            eprintln!("content unreadable: {e}");
            return 1;
        }
    };
    match serde_json::to_writer(std::io::stdout().lock(), &answer) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("writing the answer: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in extractor: a shell script doing what a hostile file makes a real one do.
    fn script(dir: &std::path::Path, body: &str) -> Sandbox {
        use std::os::unix::fs::PermissionsExt;
        let exe = dir.join(format!("extractor-{}", body.len()));
        std::fs::write(&exe, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        Sandbox {
            exe,
            limits: Limits {
                wall: Duration::from_secs(2),
                cpu_secs: 1,
                ..Default::default()
            },
        }
    }

    #[tokio::test]
    async fn a_child_that_crashes_loops_or_hogs_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let run = |s: Sandbox| {
            let d = dir.path().to_owned();
            async move { s.extract(&d, "hash", "name.pdf").await }
        };
        let e = run(script(dir.path(), "kill -SEGV $$")).await.unwrap_err();
        assert!(
            e.starts_with("corrupt: the extractor stopped on signal"),
            "{e}"
        );
        let e = run(script(dir.path(), "echo 'thread main has overflowed its stack' >&2; echo 'fatal runtime error: stack overflow' >&2; kill -ABRT $$"))
            .await
            .unwrap_err();
        assert!(e.contains("nests too deeply"), "{e}");
        // A loop that computes is stopped by its CPU limit; one that waits, by the clock.
        let e = run(script(dir.path(), "while :; do :; done"))
            .await
            .unwrap_err();
        assert!(e.starts_with("timed out"), "{e}");
        let pid_file = dir.path().join("pid");
        let waits = format!("echo $$ > {}; exec sleep 60", pid_file.display());
        let e = run(script(dir.path(), &waits)).await.unwrap_err();
        assert!(e.starts_with("timed out"), "{e}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim()));
        assert!(
            status.is_err() || status.unwrap().contains("State:\tZ"),
            "the timed-out child was stopped, not left running"
        );
        // The address-space limit holds: a child asking for more memory than it allows
        // cannot have it.
        let e = run(script(
            dir.path(),
            "exec python3 -c 'bytearray(8 * 1024 ** 3)'",
        ))
        .await
        .unwrap_err();
        assert!(e.contains("MemoryError") || e.contains("memory"), "{e}");
        // Nothing of the server's environment reaches the child.
        // SAFETY: set before any child starts in this test; no other thread reads it.
        unsafe { std::env::set_var("DATABASE_URL", "postgres://secret") };
        let e = run(script(dir.path(), "echo \"url:$DATABASE_URL\" >&2; exit 3"))
            .await
            .unwrap_err();
        assert!(e.contains("url:") && !e.contains("secret"), "{e}");
        // A well-behaved child's answer is read back.
        let ok = script(
            dir.path(),
            r#"echo '{"media_type": "text/plain", "text": "hello"}'"#,
        );
        assert_eq!(
            run(ok).await.unwrap(),
            Extracted::Text {
                media_type: "text/plain".into(),
                body: "hello".into()
            }
        );
    }
}
