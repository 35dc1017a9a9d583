//! Traffic for scamwatch: a deterministic corpus ([`corpus`]) and Kafka plumbing ([`kafka`]) to
//! produce it and collect what the service writes back; [`plot`] draws a run. Used by the
//! `scamwatch-load` binary and by the service's black-box tests.

pub mod corpus;
pub mod kafka;
pub mod plot;
