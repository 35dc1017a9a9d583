//! Dynamic micro-batching in front of the ONNX classifier, after text-embeddings-inference's
//! queue: callers tokenize on their own threads and enqueue; one dedicated inference thread
//! takes the oldest request, adds whatever else is queued (waiting at most `max_wait` for more)
//! while the padded batch stays within `max_batch` posts and `max_batch_tokens` tokens, runs one
//! ONNX Runtime call and answers each caller. The queue is bounded: when it is full, callers
//! block, so the Kafka pipeline stops pulling records instead of buffering without limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::{Classifier, ModelError, ModelInput};
use crate::metrics::{InternalEvent, ModelBatchRun};

/// What the queue needs of a model: tokenizing on the callers' threads, padded batches on the
/// inference thread. `logits` must give each input the logit it gets alone.
pub trait Backend: Send + Sync + 'static {
    fn version(&self) -> &str;
    fn inputs(&self, text: &str) -> Result<ModelInput, ModelError>;
    fn logits(&self, inputs: &[ModelInput]) -> Result<Vec<f64>, ModelError>;
    /// Calibrated probability of a logit.
    fn probability(&self, logit: f64) -> f64;
}

/// How big a batch may grow and how long it may wait.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Most posts in one call.
    pub max_batch: usize,
    /// Most padded tokens (posts x longest window) in one call; a post longer than this
    /// still runs, alone.
    pub max_batch_tokens: usize,
    /// How long the first post of a batch waits for company. Zero: only what is queued.
    pub max_wait: Duration,
    /// Posts queued before callers block.
    pub queue: usize,
}

struct Request {
    input: ModelInput,
    index: usize,
    reply: mpsc::Sender<(usize, Result<f64, ModelError>)>,
}

/// The classifier as the service uses it: a [`Backend`] (the ONNX model) behind the batching
/// queue.
pub struct BatchingClassifier<B: Backend> {
    model: Arc<B>,
    queue: mpsc::SyncSender<Request>,
    depth: Arc<AtomicUsize>,
}

impl<B: Backend> BatchingClassifier<B> {
    /// Start the inference thread. It stops when the classifier is dropped.
    pub fn start(model: Arc<B>, limits: BatchLimits) -> Result<Self, ModelError> {
        let (queue, requests) = mpsc::sync_channel(limits.queue.max(1));
        let depth = Arc::new(AtomicUsize::new(0));
        let worker = Worker {
            model: model.clone(),
            limits,
            requests,
            depth: depth.clone(),
            carried: None,
        };
        std::thread::Builder::new()
            .name("scamwatch-inference".into())
            .spawn(move || worker.run())
            .map_err(|e| ModelError::Inference(format!("cannot start inference thread: {e}")))?;
        Ok(Self {
            model,
            queue,
            depth,
        })
    }
}

impl<B: Backend> Classifier for BatchingClassifier<B> {
    fn version(&self) -> &str {
        self.model.version()
    }

    /// Enqueue every text (tokenized here, on the caller's thread) and wait for all scores.
    fn score_batch(&self, texts: &[&str]) -> Result<Vec<f64>, ModelError> {
        // Tokenize everything first, so the texts reach the queue together and share a batch.
        let inputs = texts
            .iter()
            .map(|t| self.model.inputs(t))
            .collect::<Result<Vec<_>, _>>()?;
        let (reply, replies) = mpsc::channel();
        for (index, input) in inputs.into_iter().enumerate() {
            self.depth.fetch_add(1, Ordering::Relaxed);
            let request = Request {
                input,
                index,
                reply: reply.clone(),
            };
            if self.queue.send(request).is_err() {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                return Err(ModelError::Stopped);
            }
        }
        drop(reply);
        let mut scores = vec![0.0; texts.len()];
        for _ in texts {
            let (index, logit) = replies.recv().map_err(|_| ModelError::Stopped)?;
            scores[index] = self.model.probability(logit?);
        }
        Ok(scores)
    }
}

struct Worker<B> {
    model: Arc<B>,
    limits: BatchLimits,
    requests: mpsc::Receiver<Request>,
    depth: Arc<AtomicUsize>,
    /// A request taken from the queue that did not fit the last batch: it opens the next one.
    carried: Option<Request>,
}

impl<B: Backend> Worker<B> {
    fn run(mut self) {
        while let Some(batch) = self.next_batch() {
            let started = Instant::now();
            let (inputs, replies): (Vec<ModelInput>, Vec<_>) = batch
                .into_iter()
                .map(|r| (r.input, (r.index, r.reply)))
                .unzip();
            let result = self.model.logits(&inputs);
            ModelBatchRun {
                posts: inputs.len(),
                padded_tokens: padded_tokens(&inputs),
                elapsed: started.elapsed(),
                queued: self.depth.load(Ordering::Relaxed),
            }
            .emit();
            for (i, (index, reply)) in replies.into_iter().enumerate() {
                let answer = match &result {
                    Ok(logits) => Ok(logits[i]),
                    Err(e) => Err(e.clone()),
                };
                // The caller may have given up on an earlier error; nothing to do then.
                let _ = reply.send((index, answer));
            }
        }
    }

    /// Block for the first request, then gather more until a limit is reached. None once every
    /// sender is gone.
    fn next_batch(&mut self) -> Option<Vec<Request>> {
        let first = match self.carried.take() {
            Some(r) => r,
            None => self.take(self.requests.recv().ok()?),
        };
        let deadline = Instant::now() + self.limits.max_wait;
        let mut width = first.input.ids.len();
        let mut batch = vec![first];
        while batch.len() < self.limits.max_batch {
            let next = match self.requests.try_recv() {
                Ok(r) => r,
                Err(mpsc::TryRecvError::Disconnected) => break,
                Err(mpsc::TryRecvError::Empty) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    match self.requests.recv_timeout(left) {
                        Ok(r) => r,
                        Err(_) => break,
                    }
                }
            };
            let next = self.take(next);
            let wider = width.max(next.input.ids.len());
            if wider * (batch.len() + 1) > self.limits.max_batch_tokens {
                self.carried = Some(next);
                break;
            }
            width = wider;
            batch.push(next);
        }
        Some(batch)
    }

    fn take(&self, request: Request) -> Request {
        self.depth.fetch_sub(1, Ordering::Relaxed);
        request
    }
}

fn padded_tokens(inputs: &[ModelInput]) -> usize {
    inputs.len() * inputs.iter().map(|i| i.ids.len()).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::{Barrier, Mutex};

    use super::*;

    /// A model whose logit is the input's length, recording the size and width of every call.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<(usize, usize)>>,
        fail_on_length: Option<usize>,
    }

    impl Backend for Recorder {
        fn version(&self) -> &str {
            "recorder"
        }
        fn inputs(&self, text: &str) -> Result<ModelInput, ModelError> {
            Ok(ModelInput {
                ids: vec![0; text.len()],
                presence: Vec::new(),
            })
        }
        fn logits(&self, inputs: &[ModelInput]) -> Result<Vec<f64>, ModelError> {
            let width = inputs.iter().map(|i| i.ids.len()).max().unwrap_or(0);
            self.calls.lock().unwrap().push((inputs.len(), width));
            if inputs
                .iter()
                .any(|i| Some(i.ids.len()) == self.fail_on_length)
            {
                return Err(ModelError::Inference("poisoned input".into()));
            }
            Ok(inputs.iter().map(|i| i.ids.len() as f64).collect())
        }
        fn probability(&self, logit: f64) -> f64 {
            logit
        }
    }

    fn limits(max_batch: usize, max_batch_tokens: usize, wait_ms: u64) -> BatchLimits {
        BatchLimits {
            max_batch,
            max_batch_tokens,
            max_wait: Duration::from_millis(wait_ms),
            queue: 64,
        }
    }

    #[test]
    fn concurrent_callers_share_a_batch_and_each_gets_its_own_scores() {
        let backend = Arc::new(Recorder::default());
        let queue =
            Arc::new(BatchingClassifier::start(backend.clone(), limits(8, 10_000, 500)).unwrap());
        let barrier = Arc::new(Barrier::new(4));
        let callers: Vec<_> = (0..4)
            .map(|c| {
                let (queue, barrier) = (queue.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let texts = [&"a".repeat(c + 1)[..], &"b".repeat(10 + c)[..]];
                    barrier.wait();
                    (c, queue.score_batch(&texts).unwrap())
                })
            })
            .collect();
        for caller in callers {
            let (c, scores) = caller.join().unwrap();
            assert_eq!(scores, vec![(c + 1) as f64, (10 + c) as f64]);
        }
        let calls = backend.calls.lock().unwrap();
        assert_eq!(calls.iter().map(|c| c.0).sum::<usize>(), 8);
        assert!(
            calls.iter().any(|c| c.0 > 2),
            "posts of different callers ran in one call: {calls:?}"
        );
    }

    #[test]
    fn batches_stay_within_the_token_budget_and_a_long_post_runs_alone() {
        let backend = Arc::new(Recorder::default());
        let queue = BatchingClassifier::start(backend.clone(), limits(16, 20, 50)).unwrap();
        let texts = ["12345678", "12345678", "12345678", &"x".repeat(30), "1234"];
        let scores = queue.score_batch(&texts).unwrap();
        assert_eq!(scores, vec![8.0, 8.0, 8.0, 30.0, 4.0]);
        let calls = backend.calls.lock().unwrap().clone();
        for &(posts, width) in &calls {
            assert!(
                posts * width <= 20 || posts == 1,
                "call of {posts} x {width} tokens: {calls:?}"
            );
        }
        assert_eq!(calls.first(), Some(&(2, 8)), "{calls:?}");
        assert!(calls.contains(&(1, 30)), "{calls:?}");
    }

    #[test]
    fn no_wait_takes_only_what_is_queued() {
        let backend = Arc::new(Recorder::default());
        let queue = BatchingClassifier::start(backend.clone(), limits(4, 10_000, 0)).unwrap();
        let texts: Vec<String> = (1..=10).map(|n| "z".repeat(n)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let scores = queue.score_batch(&refs).unwrap();
        assert_eq!(scores, (1..=10).map(|n| n as f64).collect::<Vec<_>>());
        let calls = backend.calls.lock().unwrap();
        assert!(calls.iter().all(|c| c.0 <= 4), "{calls:?}");
        assert_eq!(calls.iter().map(|c| c.0).sum::<usize>(), 10);
    }

    #[test]
    fn a_failed_call_fails_its_callers_and_the_queue_keeps_serving() {
        let backend = Arc::new(Recorder {
            fail_on_length: Some(3),
            ..Recorder::default()
        });
        let queue = BatchingClassifier::start(backend, limits(8, 10_000, 20)).unwrap();
        assert!(matches!(
            queue.score_batch(&["abc", "abcdef"]),
            Err(ModelError::Inference(_))
        ));
        assert_eq!(queue.score_batch(&["abcd"]).unwrap(), vec![4.0]);
    }
}
