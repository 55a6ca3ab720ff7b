//! Analyses of the structured IR, run before the emitters. Each reads only the IR (and the rule
//! table), never another analysis or an emitter, and returns facts the emitters consume.

pub mod fuse;
pub mod liveness;
pub mod needs;
pub mod once;
pub mod recursion;
pub mod regions;
pub mod remat;
pub mod replay;
