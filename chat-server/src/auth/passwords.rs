//! Passwords: the length rule, and argon2id hashing on dedicated threads,
//! bounded to one computation per CPU.
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, mpsc};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{Semaphore, oneshot};

/// Longest accepted password, in bytes: bounds the hashing work an attacker can ask for.
pub const MAX_PASSWORD_LEN: usize = 128;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_LEN: usize = 8;

/// argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The password rule, or `None` when the password is acceptable.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    (chars < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN)
        .then(|| format!("must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"))
}

/// A computation for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Password hashing, shared by every server in the process: one slot and one
/// dedicated thread per CPU. Each argon2 computation takes 19 MiB and a core, so
/// a burst of registrations or logins waits for a slot (and leaves the queue
/// without cost if the client goes away) instead of filling tokio's blocking
/// pool (up to 512 threads). The threads are dedicated because the allocator
/// keeps the freed 19 MiB in the arena of the thread that used it: the blocking
/// pool's threads come and go over up to 8 arenas per core, these stay on one each.
struct Hashing {
    slots: Arc<Semaphore>,
    /// `None` when no thread could be started: then the blocking pool is used.
    jobs: Option<mpsc::Sender<Job>>,
}

static HASHING: LazyLock<Hashing> = LazyLock::new(Hashing::start);

impl Hashing {
    fn start() -> Hashing {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for i in 0..cpus {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is released before the job runs.
                        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            // A panic drops the answer channel: the request
                            // fails, the thread stays.
                            Ok(job) => drop(std::panic::catch_unwind(AssertUnwindSafe(job))),
                            Err(_) => return,
                        }
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(err) => tracing::warn!(%err, "password hashing thread not started"),
            }
        }
        Hashing {
            slots: Arc::new(Semaphore::new(cpus)),
            jobs: (started > 0).then_some(jobs),
        }
    }
}

/// Argon2 computations running now, and the most that ever ran at once.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static IN_FLIGHT_MAX: AtomicUsize = AtomicUsize::new(0);

/// Argon2 computations running now and the most that ran at once (for `/metrics`).
pub fn hashing_in_flight() -> (usize, usize) {
    (
        IN_FLIGHT.load(Ordering::Relaxed),
        IN_FLIGHT_MAX.load(Ordering::Relaxed),
    )
}

/// Counts one running computation while alive.
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        let now = IN_FLIGHT.fetch_add(1, Ordering::Relaxed) + 1;
        IN_FLIGHT_MAX.fetch_max(now, Ordering::Relaxed);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs an argon2 computation on a hashing thread once a slot is free.
async fn with_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let waiting = std::time::Instant::now();
    let permit = HASHING
        .slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| "password hashing semaphore closed".to_owned())?;
    metrics::histogram!("chat_password_hash_wait_seconds").record(waiting.elapsed().as_secs_f64());
    // The permit moves into the job: if the client goes away the computation
    // still runs to its end, and must keep counting against the bound until then.
    let (answer, answered) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _permit = permit;
        let _in_flight = InFlight::start();
        let _ = answer.send(work());
    });
    match &HASHING.jobs {
        Some(jobs) => {
            if let Err(mpsc::SendError(job)) = jobs.send(job) {
                tokio::task::spawn_blocking(job);
            }
        }
        None => {
            tokio::task::spawn_blocking(job);
        }
    }
    answered
        .await
        .map_err(|_| "password hashing failed".to_owned())
}

/// Hashes on a hashing thread, at most one per CPU at once, so argon2's work
/// never stalls the event loop nor takes memory without bound.
pub async fn hash_password_off_thread(password: String) -> Result<String, String> {
    with_hashing_slot(move || hash_password(&password)).await?
}

/// Checks a password like [`verify_password`], on a hashing thread and at most
/// one per CPU at once. Without a stored hash (unknown login) it verifies against
/// a dummy hash, so timing does not reveal which logins exist, and returns false.
pub async fn verify_password_off_thread(
    password: String,
    phc: Option<String>,
) -> Result<bool, String> {
    with_hashing_slot(move || match phc {
        Some(phc) => verify_password(&password, &phc),
        None => {
            // Computed (once) inside the slot like any other hash.
            let _ = verify_password(&password, &DUMMY_HASH);
            false
        }
    })
    .await
}

/// A real argon2id hash, verified against for unknown logins.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not-a-real-password").unwrap_or_default());

/// Hashes a password into a PHC string. CPU-heavy: call from a blocking task
/// (through [`hash_password_off_thread`] in request handlers).
pub fn hash_password(password: &str) -> Result<String, String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a PHC string. CPU-heavy: call from a blocking task
/// (through [`verify_password_off_thread`] in request handlers).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}
