//! Handlers of what users do besides sending: receipts ([`receipts`]) and
//! typing indicators ([`typing`]).
pub(crate) mod receipts;
pub(crate) mod typing;
