//! [`Musco`]: iterative low-rank compression (Gusak et al. 2019, "MUSCO"): decompose with
//! weakened-VBMF ranks, fine-tune, decompose the decomposed layers again, repeat.

use faer::{Mat, MatRef};

use super::calibration::product;
use super::fine_tune::FineTune;
use super::one_shot::{LayerMethod, OneShot, Sizing};
use super::snapshot::Snapshot;
use crate::decomp::tucker2;
use crate::error::{Error, Result};
use crate::format::Factorized;
use crate::linalg::qr_thin;
use crate::nn::{
    evaluate, Conv2d, Dataset, DecomposedLayer, DenseLayer, Layer, Linear, Optimizer, Progress,
    Sequential, SvdLinear, Tucker2Conv,
};
use crate::par::auto_par;
use crate::rank::{evbmf, musco_ranks, weakened_rank};
use crate::scalar::Scalar;
use crate::tenalg;
use crate::tensor::Tensor;
use crate::tensorization::LowRank;

/// When MUSCO may stop early: the whole model at or below this cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MuscoTarget {
    /// At most this many parameters in the whole model.
    Params(usize),
    /// At most this many FLOPs per sample in the whole model.
    Flops(f64),
}

/// Why a [`Musco`] run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MuscoStop {
    /// The model reached the [`MuscoTarget`].
    Target,
    /// An iteration fell below the accuracy floor; it was undone.
    AccuracyFloor,
    /// No rank shrank any more (every layer at its weakened-VBMF fixed point or `min_rank`).
    Converged,
    /// The iteration limit.
    MaxIterations,
}

/// One MUSCO iteration: decomposition, then fine-tuning.
#[derive(Clone, Debug, PartialEq)]
pub struct MuscoIteration {
    /// 1 for the first decomposition of the dense layers.
    pub iteration: usize,
    /// Each chosen layer's ranks afterwards: `[r_out, r_in]` (Tucker-2) or `[r]` (SVD).
    pub ranks: Vec<Vec<usize>>,
    /// The model's parameters.
    pub params: usize,
    /// The model's FLOPs per sample.
    pub flops: f64,
    /// Accuracy on the evaluation set right after the decomposition.
    pub accuracy_decomposed: f64,
    /// Accuracy on the evaluation set after fine-tuning.
    pub accuracy: f64,
    /// Fine-tuning steps taken.
    pub steps: usize,
    /// `false` if the iteration fell below the accuracy floor and was undone.
    pub kept: bool,
}

/// What a [`Musco`] run did.
#[derive(Clone, Debug, PartialEq)]
pub struct MuscoReport {
    /// The model's parameters before.
    pub dense_params: usize,
    /// The model's FLOPs per sample before.
    pub dense_flops: f64,
    /// The model's accuracy on the evaluation set before.
    pub dense_accuracy: f64,
    /// Every iteration, in order (the last one undone if it fell below the floor).
    pub iterations: Vec<MuscoIteration>,
    /// Why the run stopped.
    pub stop: MuscoStop,
}

impl MuscoReport {
    /// The last iteration that was kept: the state the model is left in (`None` if none was).
    pub fn last_kept(&self) -> Option<&MuscoIteration> {
        self.iterations.iter().rev().find(|i| i.kept)
    }
}

/// MUSCO (Gusak et al. 2019): every chosen convolution becomes a [`Tucker2Conv`] and every
/// chosen linear layer an [`SvdLinear`], at ranks from the weakened VBMF rule
/// ([`musco_ranks`]: `r = max(⌊R − f·(R − r_vbmf)⌋, min_rank)`, `f = 0.8`, `min_rank = 8`);
/// the model is fine-tuned; then each decomposed layer is decomposed again *in place*, so the
/// layer count does not grow:
///
/// - Tucker-2: the `[r_out, r_in, kh, kw]` core is decomposed by Tucker-2 at its own MUSCO
///   ranks, `G ≈ G' ×₀ A ×₁ B`, and the new factors are folded into the old 1×1 convolutions
///   (`U_out ← U_out A`, `U_inᵀ ← Bᵀ U_inᵀ`): three convolutions still, with smaller ranks;
/// - SVD: the product `L Rᵀ` of the two factor layers is truncated again at the weakened VBMF
///   rank of that product (full rank `R` = the current rank).
///
/// Iterations repeat until the model's parameters or FLOPs reach the target, no rank
/// shrinks, the iteration limit, or the accuracy after fine-tuning falls below the floor (that
/// iteration is undone: the model is left as after the previous one). The model, the data and
/// the optimizer recipe are checked before any training starts.
///
/// ```
/// use tensorize::compress::{FineTune, Musco};
/// use tensorize::nn::{Linear, Relu, Sequential, Sgd, TensorDataset, Train};
/// use tensorize::Tensor;
/// let x = Tensor::<f32>::random_normal(&[64, 30], 1)?;
/// let labels: Vec<usize> = (0..64).map(|i| usize::from(x.as_slice()[i * 30] > 0.0)).collect();
/// let data = TensorDataset::new(x, labels, 2)?;
/// // A weight of rank 2 plus a little noise: EVBMF finds the two, MUSCO weakens towards them.
/// let w = Tensor::from_fn(&[40, 30], |i| ((i[0] % 4) as f32 - 1.5) * ((i[1] % 3) as f32 - 1.0)
///     + ((i[0] % 5) as f32 - 2.0) * ((i[1] % 7) as f32 - 3.0) * 0.3)?
///     .add(&Tensor::random_normal(&[40, 30], 2)?.scale(0.01))?;
/// let mut model = Sequential::<f32>::new()
///     .push_named("fc1", Linear::new(w, None)?)
///     .push(Relu::new())
///     .push_named("fc2", Linear::new(Tensor::random_normal(&[2, 40], 3)?.scale(0.2), None)?);
/// let musco = Musco::new(&["fc1"], FineTune::new(Train::new(1, 16)?))
///     .min_rank(2)
///     .max_iterations(3);
/// let report = musco.run(&mut model, &[1, 30], &Sgd::new(0.01)?, &data, &data, &mut |_, _| {})?;
/// let first = &report.iterations[0];
/// assert!(first.ranks[0][0] < 30 && first.params < report.dense_params);
/// assert_eq!(model.layers().len(), 3); // re-decomposed in place, never more layers
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Musco {
    layers: Vec<String>,
    factor: f64,
    min_rank: usize,
    target: Option<MuscoTarget>,
    floor: Option<f64>,
    max_iterations: usize,
    fine_tune: FineTune,
}

impl Musco {
    /// MUSCO on the layers named `layers` (dense convolutions and linear layers), fine-tuned
    /// by `fine_tune` after every decomposition; weakening factor 0.8, `min_rank` 8, at most
    /// 5 iterations, no target and no floor.
    pub fn new(layers: &[&str], fine_tune: FineTune) -> Self {
        Self {
            layers: layers.iter().map(|s| s.to_string()).collect(),
            factor: 0.8,
            min_rank: 8,
            target: None,
            floor: None,
            max_iterations: 5,
            fine_tune,
        }
    }

    /// The weakening factor `f ∈ [0, 1]` (0 keeps the full rank, 1 is plain EVBMF).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// The smallest rank the weakened rule gives.
    pub fn min_rank(mut self, min_rank: usize) -> Self {
        self.min_rank = min_rank;
        self
    }

    /// Stop once the whole model costs at most `target`.
    pub fn target(mut self, target: MuscoTarget) -> Self {
        self.target = Some(target);
        self
    }

    /// Undo the iteration whose accuracy after fine-tuning is below `floor` and stop.
    pub fn accuracy_floor(mut self, floor: f64) -> Self {
        self.floor = Some(floor);
        self
    }

    /// At most this many iterations (decomposition + fine-tuning).
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = n;
        self
    }

    /// Runs MUSCO on `model` (input shape `input`, batch first, for the FLOP counts): every
    /// fine-tuning pass starts from a fresh clone of `optimizer` (the parameters change shape
    /// between passes), trains on `data` and is evaluated on `eval`; `progress` gets the
    /// iteration (1-based) and the training progress after every step.
    ///
    /// # Errors
    /// Before any training: as [`OneShot::apply`] for the layer names (a name not in the model,
    /// a layer that is not dense); [`Error::InvalidParameter`] for 0 iterations, a factor
    /// outside `[0, 1]`, a floor outside `[0, 1]` or above the uncompressed model's accuracy
    /// on `eval` (naming both), a target below what the smallest ranks reach (naming that
    /// cost); afterwards the errors of the decompositions, [`evaluate`] and training. Such a
    /// later error leaves the model as the failing iteration left it (partly re-decomposed or
    /// partly fine-tuned, but a working model); only an iteration that falls below the floor is
    /// undone.
    pub fn run<T: Scalar, O: Optimizer<T> + Clone>(
        &self,
        model: &mut Sequential<T>,
        input: &[usize],
        optimizer: &O,
        data: &dyn Dataset<T>,
        eval: &dyn Dataset<T>,
        progress: &mut dyn FnMut(usize, &Progress),
    ) -> Result<MuscoReport> {
        let indices = OneShot::new(
            &self.layers.iter().map(String::as_str).collect::<Vec<_>>(),
            LayerMethod::Svd,
            Sizing::Ranks(vec![1; self.layers.len()]),
        )
        .check(model)?;
        self.check_options()?;
        let (dense_params, dense_flops) = (model.num_params(), model.flops(input)?);
        if let Some(target) = self.target {
            self.check_target(model, &indices, input, target)?;
        }
        let eval_batch = self.fine_tune.eval_batch_size();
        let dense_accuracy = evaluate(&*model, eval, eval_batch)?.accuracy();
        if let Some(floor) = self.floor {
            if floor > dense_accuracy {
                return Err(Error::InvalidParameter {
                    name: "accuracy_floor",
                    value: format!(
                        "{floor} (the uncompressed model's accuracy is {dense_accuracy})"
                    ),
                    expected: "a floor at most the uncompressed model's accuracy",
                });
            }
        }
        let mut report = MuscoReport {
            dense_params,
            dense_flops,
            dense_accuracy,
            iterations: Vec::new(),
            stop: MuscoStop::MaxIterations,
        };
        for iteration in 1..=self.max_iterations {
            let snapshot = Snapshot::take(model);
            let mut changed = Vec::new();
            for (&at, name) in indices.iter().zip(&self.layers) {
                if let Some(new) = self.decompose(model.layers()[at].as_ref(), name)? {
                    changed.push((at, new));
                }
            }
            if changed.is_empty() {
                report.stop = MuscoStop::Converged;
                break;
            }
            let mut old = Vec::with_capacity(changed.len());
            for (at, new) in changed {
                old.push((at, model.replace(at, new)?));
            }
            let ranks =
                indices.iter().map(|&at| ranks_of(model.layers()[at].as_ref())).collect::<Vec<_>>();
            let mut tuned = optimizer.clone();
            let tune = self
                .fine_tune
                .run(model, &mut tuned, data, eval, &mut |p| progress(iteration, p))?;
            let accuracy = tune.after.accuracy();
            let below = self.floor.is_some_and(|floor| accuracy < floor);
            report.iterations.push(MuscoIteration {
                iteration,
                ranks,
                params: model.num_params(),
                flops: model.flops(input)?,
                accuracy_decomposed: tune.before.accuracy(),
                accuracy,
                steps: tune.train.steps,
                kept: !below,
            });
            if below {
                for (at, layer) in old {
                    model.replace(at, layer)?;
                }
                snapshot.restore(model)?;
                report.stop = MuscoStop::AccuracyFloor;
                break;
            }
            let met = match self.target {
                Some(MuscoTarget::Params(p)) => model.num_params() <= p,
                Some(MuscoTarget::Flops(f)) => model.flops(input)? <= f,
                None => false,
            };
            if met {
                report.stop = MuscoStop::Target;
                break;
            }
        }
        Ok(report)
    }

    fn check_options(&self) -> Result<()> {
        if self.max_iterations == 0 {
            return Err(Error::InvalidParameter {
                name: "max_iterations",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        weakened_rank(1, 0, self.factor, self.min_rank)?;
        if let Some(floor) = self.floor {
            if !(0.0..=1.0).contains(&floor) {
                return Err(Error::InvalidParameter {
                    name: "accuracy_floor",
                    value: floor.to_string(),
                    expected: "an accuracy in [0, 1]",
                });
            }
        }
        Ok(())
    }

    /// Refuses a target that even every layer at its smallest MUSCO ranks cannot meet.
    fn check_target<T: Scalar>(
        &self,
        model: &Sequential<T>,
        indices: &[usize],
        input: &[usize],
        target: MuscoTarget,
    ) -> Result<()> {
        let mut shape = input.to_vec();
        let (mut params, mut flops) = (0usize, 0.0);
        for (at, layer) in model.layers().iter().enumerate() {
            let smallest = match layer.as_dense().filter(|_| indices.contains(&at)) {
                Some(dense) => Some(self.smallest(dense)?),
                None => None,
            };
            let l = smallest.as_deref().unwrap_or(layer.as_ref());
            params += l.num_params();
            flops += l.flops(&shape)?;
            shape = layer.output_shape(&shape)?;
        }
        let (fits, value) = match target {
            MuscoTarget::Params(p) => (params <= p, format!("{p} parameters")),
            MuscoTarget::Flops(f) => (flops <= f, format!("{f} FLOPs")),
        };
        if fits {
            return Ok(());
        }
        Err(Error::InvalidParameter {
            name: "target",
            value: format!(
                "{value} (every layer at the smallest ranks MUSCO reaches, min_rank {}, leaves \
                 {params} parameters and {flops} FLOPs)",
                self.min_rank
            ),
            expected: "a target the smallest ranks can meet",
        })
    }

    /// `dense` at its smallest MUSCO ranks (zero weights: only its size matters).
    fn smallest<T: Scalar>(&self, dense: DenseLayer<'_, T>) -> Result<Box<dyn Layer<T>>> {
        let zeros = |shape: &[usize]| Tensor::<T>::zeros(shape);
        Ok(match dense {
            DenseLayer::Conv2d(c) => {
                let (out, input) = (c.out_channels(), c.in_channels());
                let k = c.weight().shape();
                let (r_out, r_in) = (self.min_rank.min(out), self.min_rank.min(input));
                Box::new(Tucker2Conv::from_parts(
                    Conv2d::new(zeros(&[r_in, input, 1, 1])?, None)?,
                    Conv2d::new(zeros(&[r_out, r_in, k[2], k[3]])?, None)?
                        .with_stride(c.stride())?
                        .with_padding(c.padding())?,
                    Conv2d::new(zeros(&[out, r_out, 1, 1])?, c.bias().map(<[T]>::to_vec))?,
                    1.0,
                )?)
            }
            DenseLayer::Linear(l) => {
                let (m, n) = (l.out_features(), l.in_features());
                let r = self.min_rank.clamp(1, m.min(n));
                Box::new(SvdLinear::from_parts(
                    Linear::new(zeros(&[r, n])?, None)?,
                    Linear::new(zeros(&[m, r])?, l.bias().map(<[T]>::to_vec))?,
                    1.0,
                )?)
            }
        })
    }

    /// The layer `layer` (named `name`) decomposed once more, or `None` if its ranks would not
    /// shrink.
    fn decompose<T: Scalar>(
        &self,
        layer: &dyn Layer<T>,
        name: &str,
    ) -> Result<Option<Box<dyn Layer<T>>>> {
        if let Some(dense) = layer.as_dense() {
            return Ok(Some(match dense {
                DenseLayer::Conv2d(c) => {
                    let r = musco_ranks(c.weight(), self.factor, self.min_rank)?;
                    Box::new(Tucker2Conv::from_conv(c, r.out_rank, r.in_rank)?)
                }
                DenseLayer::Linear(l) => {
                    let r = self.svd_rank(l.weight(), l.out_features().min(l.in_features()))?;
                    Box::new(SvdLinear::from_linear(l, r)?)
                }
            }));
        }
        match layer.as_decomposed() {
            Some(DecomposedLayer::Tucker2(t)) => self.tucker2_again(t),
            Some(DecomposedLayer::SvdLinear(s)) => self.svd_again(s),
            _ => Err(Error::InvalidParameter {
                name: "layers",
                value: format!("{name:?} ({})", layer.describe()),
                expected: "a dense layer, or a Tucker-2 or SVD layer MUSCO made",
            }),
        }
    }

    /// The weakened VBMF rank of the matrix `w` whose full rank is `full`.
    fn svd_rank<T: Scalar>(&self, w: &Tensor<T>, full: usize) -> Result<usize> {
        let vbmf = evbmf(w.as_mat()?)?.rank.min(full);
        weakened_rank(full, vbmf, self.factor, self.min_rank)
    }

    /// The Tucker-2 layer `t` with its core decomposed again and the new factors folded into
    /// the 1×1 convolutions.
    fn tucker2_again<T: Scalar>(&self, t: &Tucker2Conv<T>) -> Result<Option<Box<dyn Layer<T>>>> {
        let [reduce, core, restore] = t.parts();
        let r = musco_ranks(core.weight(), self.factor, self.min_rank)?;
        if (r.out_rank, r.in_rank) == t.ranks() {
            return Ok(None);
        }
        let (g, _) = tucker2(core.weight(), r.out_rank, r.in_rank)?;
        let (a, b) = (g.factors()[0].as_ref(), g.factors()[1].as_ref());
        let u_in_t = matrix(reduce.weight())?; // r_in × in
        let u_out = matrix(restore.weight())?; // out × r_out
        let new_reduce = product(b.transpose(), u_in_t.as_mat()?);
        let new_restore = product(u_out.as_mat()?, a);
        let kernel = |core: &Tensor<T>, u_out: MatRef<'_, T>, u_in_t: MatRef<'_, T>| {
            tenalg::mode_product(&tenalg::mode_product(core, u_out, 0)?, u_in_t.transpose(), 1)
        };
        let before = kernel(core.weight(), u_out.as_mat()?, u_in_t.as_mat()?)?;
        let after = kernel(g.core(), new_restore.as_ref(), new_reduce.as_ref())?;
        let rel_error =
            after.sub(&before)?.norm().as_f64() / before.norm().as_f64().max(f64::MIN_POSITIVE);
        let pointwise =
            |m: &Mat<T>| Tensor::from_mat(m.as_ref())?.reshape(&[m.nrows(), m.ncols(), 1, 1]);
        let layer = Tucker2Conv::from_parts(
            Conv2d::new(pointwise(&new_reduce)?, None)?,
            Conv2d::new(g.core().clone(), None)?
                .with_stride(core.stride())?
                .with_padding(core.padding())?,
            Conv2d::new(pointwise(&new_restore)?, restore.bias().map(<[T]>::to_vec))?,
            rel_error,
        )?;
        Ok(Some(Box::new(layer)))
    }

    /// The SVD layer `s` re-truncated: `L Rᵀ = Q_L (R_L R_Rᵀ) Q_Rᵀ` (thin QRs of the two
    /// factors), the `r × r` middle matrix `C = R_L R_Rᵀ` plays the part of a Tucker core:
    /// its weakened VBMF rank (full rank `r`) and its truncated SVD `C ≈ A Bᵀ` give the new
    /// factors `Q_L A` and `Q_R B`. (The product itself is exactly rank `r`, so EVBMF on it
    /// would estimate no noise and keep every rank.)
    fn svd_again<T: Scalar>(&self, s: &SvdLinear<T>) -> Result<Option<Box<dyn Layer<T>>>> {
        let [project, expand] = s.parts();
        let (l, rt) = (expand.weight().as_mat()?, project.weight().as_mat()?);
        let par = auto_par(4.0 * (l.nrows() + rt.ncols()) as f64 * (s.rank() as f64).powi(2));
        let (q_l, r_l) = qr_thin(l, par)?;
        let (q_r, r_r) = qr_thin(rt.transpose(), par)?;
        let core = Tensor::from_mat(product(r_l.as_ref(), r_r.transpose()).as_ref())?;
        let vbmf = evbmf(core.as_mat()?)?.rank;
        let r = weakened_rank(s.rank(), vbmf, self.factor, self.min_rank)?;
        if r >= s.rank() {
            return Ok(None);
        }
        let lr = LowRank::from_matrix(&core, r)?;
        let rel_error = lr.rel_error(&core)?.as_f64();
        let left = product(q_l.as_ref(), lr.left().as_ref());
        let right = product(q_r.as_ref(), lr.right().as_ref());
        let layer = SvdLinear::from_parts(
            Linear::new(Tensor::from_mat(right.transpose())?, None)?,
            Linear::new(Tensor::from_mat(left.as_ref())?, expand.bias().map(<[T]>::to_vec))?,
            rel_error,
        )?;
        Ok(Some(Box::new(layer)))
    }
}

/// A 1×1 convolution's weight `[rows, cols, 1, 1]` as the matrix `rows × cols`.
fn matrix<T: Scalar>(w: &Tensor<T>) -> Result<Tensor<T>> {
    let s = w.shape();
    w.clone().reshape(&[s[0], s[1..].iter().product()])
}

/// A layer's ranks: `[r_out, r_in]` for Tucker-2, `[r]` for SVD, none for others.
fn ranks_of<T: Scalar>(layer: &dyn Layer<T>) -> Vec<usize> {
    match layer.as_decomposed() {
        Some(DecomposedLayer::Tucker2(t)) => {
            let (r_out, r_in) = t.ranks();
            vec![r_out, r_in]
        }
        Some(DecomposedLayer::SvdLinear(s)) => vec![s.rank()],
        Some(DecomposedLayer::SvdConv(s)) => vec![s.rank()],
        Some(DecomposedLayer::Cp(c)) => vec![c.rank()],
        Some(DecomposedLayer::Tt(t)) => t.ranks().to_vec(),
        None => vec![],
    }
}
