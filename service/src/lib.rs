//! scamwatch: scores posts for scam-compound recruitment fraud and explains why.
//!
//! Data flows one way: [`source`] (Kafka consumer) -> [`decode`] (bytes -> validated [`message::Post`])
//! -> [`normalize`] + [`signals`] -> [`rules`] + [`model`] -> [`fuse`] -> [`sink`] (verdict or
//! dead-letter record). [`scorer`] runs one post through the middle stages for every entry point, with [`memory`]
//! (near-duplicates, contact reputation);
//! [`pipeline`] drives the stream with at-least-once delivery; [`api`] serves HTTP; [`config`] and
//! [`metrics`] serve them all. [`review`] is the review console (`scamwatch review`): it reads
//! the verdicts, and reviewers' decisions go back on the feedback topic.

pub mod api;
pub mod config;
pub mod decode;
pub mod eval;
pub mod feedback;
pub mod fuse;
pub mod memory;
pub mod message;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod review;
pub mod rules;
pub mod scorer;
pub mod signals;
pub mod sink;
pub mod source;
