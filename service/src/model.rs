//! Model: the classifier behind a trait, so the service runs with a transformer, or with none
//! (`--model none`: rules only, said in `/readyz` and in every verdict).

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot load model from {path}: {message}")]
    Load { path: String, message: String },
    #[error("inference failed: {0}")]
    Inference(String),
}

/// A fraud classifier: text in, probability (0..1) out. Implementations must give the same
/// score for the same text whatever else is in the batch.
pub trait Classifier: Send + Sync {
    /// Version string reported in verdicts and metrics.
    fn version(&self) -> &str;
    /// Probability of recruitment fraud for each text.
    fn score_batch(&self, texts: &[&str]) -> Result<Vec<f64>, ModelError>;
}

/// The loaded classifier, if any.
pub type SharedClassifier = Option<Arc<dyn Classifier>>;

/// Load the classifier named by config: `"none"` means rules only.
pub fn load(spec: &str) -> Result<SharedClassifier, ModelError> {
    if spec == "none" {
        return Ok(None);
    }
    Err(ModelError::Load {
        path: spec.to_string(),
        message: "this build has no model backend; use --model none".into(),
    })
}
