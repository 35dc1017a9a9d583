//! Model: the classifier behind a trait, so the service runs with the quantized transformer, or
//! with none (`--model none`: rules only, said in `/readyz` and in every verdict). The ONNX
//! backend tokenizes with the exported `tokenizer.json`, gives the encoder a head+tail window
//! and the head's token-presence term the start of the whole post, runs the int8 model through
//! ONNX Runtime (loaded dynamically from `ORT_DYLIB_PATH`) on padded batches and calibrates the
//! logit with the Platt parameters recorded at export. The service reaches it through the
//! micro-batching queue in `batching`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

mod batching;

pub use batching::{Backend, BatchLimits, BatchingClassifier};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    #[error("cannot load model from {path}: {message}")]
    Load { path: String, message: String },
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("the inference thread has stopped")]
    Stopped,
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

/// Load the classifier named by config: `"none"` means rules only; otherwise a directory with
/// `model.json`, served through the micro-batching queue. `ort_library` is the ONNX Runtime
/// shared library.
pub fn load(
    spec: &str,
    ort_library: Option<&Path>,
    threads: usize,
    limits: BatchLimits,
) -> Result<SharedClassifier, ModelError> {
    if spec == "none" {
        return Ok(None);
    }
    let model = OnnxClassifier::load(Path::new(spec), ort_library, threads)?;
    Ok(Some(Arc::new(BatchingClassifier::start(
        Arc::new(model),
        limits,
    )?)))
}

/// `model.json`: what the export pipeline recorded about the model.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelCard {
    pub version: String,
    pub onnx: OnnxMeta,
    pub tokenizer: TokenizerMeta,
    pub calibration: Calibration,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OnnxMeta {
    pub file: String,
    /// The ONNX Runtime graph optimization level the model's scores were recorded at: the
    /// higher levels fuse the int8 MatMuls into kernels that round differently.
    #[serde(default)]
    pub graph_optimization: GraphOptimization,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GraphOptimization {
    Disable,
    Basic,
    Extended,
    /// ONNX Runtime's own default.
    #[default]
    All,
}

impl From<GraphOptimization> for ort::session::builder::GraphOptimizationLevel {
    fn from(level: GraphOptimization) -> Self {
        use ort::session::builder::GraphOptimizationLevel as Level;
        match level {
            GraphOptimization::Disable => Level::Disable,
            GraphOptimization::Basic => Level::Level1,
            GraphOptimization::Extended => Level::Level2,
            GraphOptimization::All => Level::All,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenizerMeta {
    pub file: String,
    pub prefix: String,
    pub max_len: usize,
    pub truncation: Truncation,
    /// How many ids of the whole post the head's token-presence term reads.
    pub presence_max_tokens: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Truncation {
    pub head_tokens: usize,
    pub tail_tokens: usize,
}

/// Platt scaling: `p = sigmoid(a * logit + b)`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Calibration {
    pub a: f64,
    pub b: f64,
}

impl Calibration {
    pub fn probability(&self, logit: f64) -> f64 {
        1.0 / (1.0 + (-(self.a * logit + self.b)).exp())
    }
}

/// What the model reads for one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInput {
    /// The encoder's window: `<s> prefix+text </s>`, head and tail kept when too long (the
    /// contact details of an ad are often at the end).
    pub ids: Vec<i64>,
    /// The ids the token-presence term reads: the first `presence_max_tokens` of the same
    /// encoding, so words past the window still count.
    pub presence: Vec<i64>,
}

/// The int8 ONNX classifier.
pub struct OnnxClassifier {
    card: ModelCard,
    tokenizer: tokenizers::Tokenizer,
    /// `Session::run` needs `&mut`; one session, its intra-op threads use the cores.
    session: Mutex<ort::session::Session>,
}

/// ONNX Runtime allows one environment per process: created on first use, shared after.
static ENVIRONMENT: std::sync::OnceLock<(PathBuf, ort::environment::Environment)> =
    std::sync::OnceLock::new();

fn environment(library: &Path) -> Result<&'static ort::environment::Environment, String> {
    static INIT: Mutex<()> = Mutex::new(());
    let _serialised = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((loaded, env)) = ENVIRONMENT.get() {
        return if loaded == library {
            Ok(env)
        } else {
            Err(format!(
                "ONNX Runtime is already loaded from {}; cannot also load {}",
                loaded.display(),
                library.display()
            ))
        };
    }
    let env = ort::init_from(library)
        .map_err(|e| format!("loading {}: {e}", library.display()))?
        .with_name("scamwatch")
        .build()
        .map_err(|e| format!("ONNX Runtime environment: {e}"))?;
    let (_, env) = ENVIRONMENT.get_or_init(|| (library.to_path_buf(), env));
    Ok(env)
}

const BOS: i64 = 0;
const PAD: i64 = 1;
const EOS: i64 = 2;

impl OnnxClassifier {
    pub fn load(
        dir: &Path,
        ort_library: Option<&Path>,
        threads: usize,
    ) -> Result<Self, ModelError> {
        let fail = |message: String| ModelError::Load {
            path: dir.display().to_string(),
            message,
        };
        let card_text = std::fs::read_to_string(dir.join("model.json"))
            .map_err(|e| fail(format!("model.json: {e}")))?;
        let card: ModelCard =
            serde_json::from_str(&card_text).map_err(|e| fail(format!("model.json: {e}")))?;
        let tokenizer = tokenizers::Tokenizer::from_file(dir.join(&card.tokenizer.file))
            .map_err(|e| fail(format!("{}: {e}", card.tokenizer.file)))?;
        let library: PathBuf = match ort_library {
            Some(p) => p.to_path_buf(),
            None => return Err(fail("no ONNX Runtime library: set --ort-library or ORT_DYLIB_PATH (scripts/setup.sh installs it)".into())),
        };
        if !library.is_file() {
            return Err(fail(format!(
                "ONNX Runtime library {} does not exist (run scripts/setup.sh)",
                library.display()
            )));
        }
        let environment = environment(&library).map_err(fail)?;
        let options = |e: String| fail(format!("session options: {e}"));
        let session = ort::session::Session::builder(environment)
            .map_err(|e| options(e.to_string()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| options(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| options(e.to_string()))?
            // Spinning worker threads burn the cores the Kafka client and the rules need.
            .with_intra_op_spinning(false)
            .map_err(|e| options(e.to_string()))?
            .with_optimization_level(card.onnx.graph_optimization.into())
            .map_err(|e| options(e.to_string()))?
            // Memory patterns are planned and kept per input shape, and batches come in many
            // shapes: off, the drain test peaked at 379-387 MB RSS instead of 412-416 MB.
            .with_memory_pattern(false)
            .map_err(|e| options(e.to_string()))?
            .commit_from_file(dir.join(&card.onnx.file))
            .map_err(|e| fail(format!("{}: {e}", card.onnx.file)))?;
        Ok(Self {
            card,
            tokenizer,
            session: Mutex::new(session),
        })
    }

    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Tokenize one text into what the model reads.
    pub fn inputs(&self, text: &str) -> Result<ModelInput, ModelError> {
        let t = &self.card.tokenizer;
        let encoding = self
            .tokenizer
            .encode(format!("{}{}", t.prefix, text), true)
            .map_err(|e| ModelError::Inference(format!("tokenizer: {e}")))?;
        let all: Vec<i64> = encoding.get_ids().iter().map(|&i| i64::from(i)).collect();
        let presence = all[..all.len().min(t.presence_max_tokens)].to_vec();
        if all.len() <= t.max_len {
            return Ok(ModelInput { ids: all, presence });
        }
        let content = &all[1..all.len() - 1];
        let mut ids = Vec::with_capacity(t.max_len);
        ids.push(BOS);
        ids.extend_from_slice(&content[..t.truncation.head_tokens]);
        ids.extend_from_slice(&content[content.len() - t.truncation.tail_tokens..]);
        ids.push(EOS);
        Ok(ModelInput { ids, presence })
    }

    /// Raw head logit for one text.
    pub fn logit(&self, text: &str) -> Result<f64, ModelError> {
        let input = self.inputs(text)?;
        self.logit_of(input)
    }

    pub fn logit_of(&self, input: ModelInput) -> Result<f64, ModelError> {
        Ok(self.logits(std::slice::from_ref(&input))?[0])
    }

    /// Raw head logits for a padded batch: one ONNX Runtime call. The graph quantizes each
    /// post's activations over its own unmasked tokens, so a post gets its batch-of-one logit
    /// whatever it is batched with (up to float summation order: ~1e-6, see the model card).
    pub fn logits(&self, inputs: &[ModelInput]) -> Result<Vec<f64>, ModelError> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let err = |e: ort::Error| ModelError::Inference(e.to_string());
        let padded = |rows: &mut dyn Iterator<Item = &[i64]>| {
            let rows: Vec<&[i64]> = rows.collect();
            let width = rows.iter().map(|r| r.len()).max().unwrap_or(0);
            let (mut ids, mut mask) = (
                Vec::with_capacity(rows.len() * width),
                Vec::with_capacity(rows.len() * width),
            );
            for row in &rows {
                ids.extend_from_slice(row);
                ids.extend(std::iter::repeat_n(PAD, width - row.len()));
                mask.extend(std::iter::repeat_n(1i64, row.len()));
                mask.extend(std::iter::repeat_n(0i64, width - row.len()));
            }
            let shape = vec![rows.len() as i64, width as i64];
            Ok::<_, ModelError>((
                ort::value::Tensor::from_array((shape.clone(), ids)).map_err(err)?,
                ort::value::Tensor::from_array((shape, mask)).map_err(err)?,
            ))
        };
        let (input_ids, attention) = padded(&mut inputs.iter().map(|i| i.ids.as_slice()))?;
        let (presence_ids, presence_mask) =
            padded(&mut inputs.iter().map(|i| i.presence.as_slice()))?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| ModelError::Inference("session lock poisoned".into()))?;
        let outputs = session
            .run(ort::inputs![
                "input_ids" => input_ids,
                "attention_mask" => attention,
                "presence_ids" => presence_ids,
                "presence_mask" => presence_mask,
            ])
            .map_err(err)?;
        let (_, logits) = outputs["logit"].try_extract_tensor::<f32>().map_err(err)?;
        if logits.len() != inputs.len() {
            return Err(ModelError::Inference(format!(
                "{} logits for {} posts",
                logits.len(),
                inputs.len()
            )));
        }
        Ok(logits.iter().map(|&l| f64::from(l)).collect())
    }
}

impl Backend for OnnxClassifier {
    fn version(&self) -> &str {
        &self.card.version
    }

    fn inputs(&self, text: &str) -> Result<ModelInput, ModelError> {
        OnnxClassifier::inputs(self, text)
    }

    fn logits(&self, inputs: &[ModelInput]) -> Result<Vec<f64>, ModelError> {
        OnnxClassifier::logits(self, inputs)
    }

    fn probability(&self, logit: f64) -> f64 {
        self.card.calibration.probability(logit)
    }
}

impl Classifier for OnnxClassifier {
    fn version(&self) -> &str {
        &self.card.version
    }

    /// One padded call for all of `texts` (no budget: the batching queue enforces one).
    fn score_batch(&self, texts: &[&str]) -> Result<Vec<f64>, ModelError> {
        let inputs = texts
            .iter()
            .map(|t| self.inputs(t))
            .collect::<Result<Vec<_>, _>>()?;
        let logits = self.logits(&inputs)?;
        Ok(logits
            .into_iter()
            .map(|l| self.card.calibration.probability(l))
            .collect())
    }
}
