//! The front end: from the user's function to the IR.

pub mod activity;
pub mod desugar;
pub mod lower;
pub mod options;
