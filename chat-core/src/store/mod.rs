//! Every SQL statement of the engine, as free functions over any
//! `ConnectionTrait` (a pool or a transaction), one module per area.

pub(crate) mod presence;
