//! What `/proc` tells of a process: the one listening on a port, its resident memory, CPU time
//! and open-file limit.
use std::fs;
use std::path::Path;
use std::time::Instant;

/// The process listening on TCP `port` (IPv4 or IPv6), found through `/proc`.
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[3] != "0A" {
                continue; // not LISTEN
            }
            let local_port = fields[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.push(format!("socket:[{}]", fields[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let procs = fs::read_dir("/proc").ok()?;
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = fs::read_link(fd.path())
                && inodes.iter().any(|i| Path::new(i) == target)
            {
                return Some(pid);
            }
        }
    }
    None
}

/// A process's resident memory (VmRSS) in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// A process's open-file limit (`RLIMIT_NOFILE`); `None` stands for unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// The soft limit, the one in force (`ulimit -Sn`).
    pub soft: Option<u64>,
    /// The hard limit, up to which the soft one may be raised without privileges (`ulimit -Hn`).
    pub hard: Option<u64>,
}

/// This process's open-file limit, from `/proc/self/limits`; `None` when it cannot be read.
pub fn open_file_limit() -> Option<FileLimit> {
    parse_open_file_limit(&fs::read_to_string("/proc/self/limits").ok()?)
}

/// The `Max open files` line of a `/proc/<pid>/limits` text.
fn parse_open_file_limit(limits: &str) -> Option<FileLimit> {
    let rest = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    let mut fields = rest.split_whitespace();
    let mut value = || match fields.next()? {
        "unlimited" => Some(None),
        n => n.parse().ok().map(Some),
    };
    Some(FileLimit {
        soft: value()?,
        hard: value()?,
    })
}

/// A process's CPU time (user + system) in seconds, from `/proc/<pid>/stat` (100 ticks per second).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Resident memory (VmRSS) summed over processes, in KiB; `None` when there are none or one
/// cannot be read (a partial sum would pass for the whole).
pub fn rss_kib_sum(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&pid| rss_kib(pid)).sum()
}

fn cpu_seconds_sum(pids: &[u32]) -> Option<f64> {
    pids.iter().map(|&pid| cpu_seconds(pid)).sum()
}

/// CPU use of processes between two points, summed, as a share of one core.
#[derive(Debug, Clone)]
pub struct CpuMeter {
    pids: Vec<u32>,
    cpu0: f64,
    t0: Instant,
}

impl CpuMeter {
    /// Starts measuring `pids` (none: nothing to measure).
    pub fn start(pids: &[u32]) -> Option<Self> {
        if pids.is_empty() {
            return None;
        }
        Some(Self {
            pids: pids.to_vec(),
            cpu0: cpu_seconds_sum(pids)?,
            t0: Instant::now(),
        })
    }

    /// Percent of one core used since the start, over all the processes.
    pub fn percent(&self) -> Option<f64> {
        let used = cpu_seconds_sum(&self.pids)? - self.cpu0;
        let wall = self.t0.elapsed().as_secs_f64();
        (wall > 0.0).then(|| (used / wall * 1000.0).round() / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_own_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).is_some_and(|kib| kib > 0));
        assert!(cpu_seconds(pid).is_some());
        assert!(rss_kib(u32::MAX).is_none());
        let one = rss_kib_sum(&[pid]).expect("own memory");
        assert!(rss_kib_sum(&[pid, pid]).is_some_and(|two| two >= one));
        assert!(rss_kib_sum(&[]).is_none());
        assert!(rss_kib_sum(&[pid, u32::MAX]).is_none());
        let meter = CpuMeter::start(&[pid, pid]).expect("own CPU time");
        assert!(meter.percent().is_some_and(|p| p >= 0.0));
        assert!(CpuMeter::start(&[]).is_none());
        assert!(open_file_limit().is_some());
    }

    #[test]
    fn parses_the_open_file_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            1024                 20000                files     \n\
                      Max locked memory         8388608              8388608              bytes     \n";
        assert_eq!(
            parse_open_file_limit(limits),
            Some(FileLimit {
                soft: Some(1024),
                hard: Some(20000)
            })
        );
        assert_eq!(
            parse_open_file_limit("Max open files unlimited unlimited files"),
            Some(FileLimit {
                soft: None,
                hard: None
            })
        );
        assert_eq!(parse_open_file_limit("Max cpu time 1 2 seconds"), None);
        assert_eq!(parse_open_file_limit("Max open files many 2 files"), None);
    }
}
