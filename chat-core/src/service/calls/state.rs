//! The calls of one engine ([`Calls`]): where they are kept, which of this
//! instance's sockets are in one, and the signal budget.
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use super::store::{CallStore, Deadline};

/// The calls of one engine.
pub(crate) struct Calls {
    pub(crate) store: Box<dyn CallStore>,
    /// Sockets of this instance in a call: socket id -> its side.
    local: Mutex<HashMap<String, Deadline>>,
    /// `call:signal` budget per user.
    pub(crate) signals: crate::service::budget::EventLimiter,
    /// The sweeper was started.
    pub(crate) started: AtomicBool,
}

impl Calls {
    pub(crate) fn new(store: Box<dyn CallStore>, config: &crate::ChatConfig) -> Self {
        Calls {
            store,
            local: Mutex::default(),
            signals: crate::service::budget::limiter(
                config.call_signals_per_second,
                config.call_signals_burst,
            ),
            started: AtomicBool::new(false),
        }
    }

    pub(crate) fn local(&self) -> std::sync::MutexGuard<'_, HashMap<String, Deadline>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}
