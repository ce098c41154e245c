//! [`Tensorized`]: a dense linear or convolution layer replaced by a TSPC tensorized
//! decomposition of its weight (r-CP, r-TK or r-TT), run from the factors; construction,
//! parameters and the [`Layer`] methods, dispatched to one engine per method.

use super::param::Param;
use super::rcp::CpEngine;
use super::roles::roles;
use super::rtt::TtEngine;
use super::rtucker::TuckerEngine;
use super::source::{Geometry, Source};
use crate::error::{Error, Result};
use crate::kernels::im2col::Window;
use crate::nn::conv2d::Conv2d;
use crate::nn::layer::{check_grad, no_forward, Layer, ParamMut};
use crate::nn::linear::Linear;
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::tensorization::compress::{Compress, CompressedWeight, WeightFormat};
use crate::tensorization::weights::layout::Layout;
use crate::tensorization::weights::method::Method;
use crate::tensorization::weights::plan::{plan_ranks, Plan};
use crate::tensorization::weights::shape::WeightShape;

const OP: &str = "Tensorized";

/// How the forward and backward passes are computed from the factors (one per method).
#[derive(Clone, Debug)]
enum Engine<T> {
    Cp(CpEngine<T>),
    Tucker(TuckerEngine<T>),
    Tt(TtEngine<T>),
}

/// Calls the same method on whichever engine `$e` holds.
macro_rules! dispatch {
    ($e:expr, $x:ident => $body:expr) => {
        match $e {
            Engine::Cp($x) => $body,
            Engine::Tucker($x) => $body,
            Engine::Tt($x) => $body,
        }
    };
}

/// A [`Linear`] or ungrouped [`Conv2d`] whose weight `W` (`[out, in, kh, kw]`) is replaced by a
/// tensorized decomposition of TSPC (Su et al. 2018; [`Method::RCp`], [`Method::RTucker`],
/// [`Method::RTt`]) and run from the factors, never from a rebuilt `W`. The input is cut into
/// the patches of the original window (`im2col`; a linear layer's input rows are the
/// patches), and the map `out × (in·kh·kw)` is applied by contracting the factors:
///
/// - **r-CP** (`W[o, i, s] = Σ_r A[s, r] Π_j B_j[(i_j, o_j), r]`): the kernel factor first
///   (one GEMM `[n·in, kh·kw] · A` over the `n` patch rows: it creates the rank index), then
///   per channel group the rank-diagonal `y[p, o_j, q, r] = Σ_{i_j} B_j[i_j, o_j, r] x[p, i_j,
///   q, r]` (rank innermost), the last group one GEMM over the merged `(i_L, r)`. The CP
///   weights λ are folded into factor 0.
/// - **r-TK**: the input-channel factors as mode products on the *images* (before im2col,
///   which they commute with), the core as a dense `R_in → R_out` convolution with the
///   original window, the output-channel factors as mode products on its output.
/// - **r-TT**: the cores regrouped as a [`TtMatrix`](crate::format::TtMatrix) (`[r, out_j,
///   in_j, r']` per channel group, the kernel core `[r, 1, kh·kw, 1]`) and applied to the
///   patch rows by the batched TT-matvec plans (training: [`crate::kernels::TtTrainingPlan`]).
///   The inference plan is [`TtMatrix::plan`](crate::format::TtMatrix::plan)'s cheapest: it
///   merges neighbouring cores where its flop count says that at least halves the cost, up to
///   the whole matrix (then the forward multiplies by the rebuilt weight: at high ranks on
///   small layers that is the cheaper contraction). [`Layer::describe`] then says
///   `forward merges cores a..b`; training always runs one core per step.
///
/// Parameters, in [`Layer::visit_params`] order: r-CP `factor0…` in the decomposed tensor's
/// mode order (`[size_k, R]`, row-major; a channel group's rows are `(in_j, out_j)`, `in_j`
/// slowest); r-TK `factor0…` (input modes, then output modes, `[size, rank]`) and `core`
/// (`[R_out, R_in, kh, kw]`, or `[R_out, R_in]`); r-TT `core0…` (`[r, out_j, in_j, r']`,
/// the kernel core `[r, 1, kh·kw, 1]`); then the original `bias`, if any. Modes of size 1
/// (channel counts with fewer prime factors than `factors`) are dropped, as by the
/// decomposition.
///
/// ```
/// use tensorize::nn::{Conv2d, Layer, Tensorized};
/// use tensorize::tensorization::{Compress, Method};
/// use tensorize::{Budget, Tensor};
/// let conv = Conv2d::new(Tensor::<f32>::random_normal(&[8, 6, 3, 3], 1)?, Some(vec![0.1; 8]))?
///     .with_padding([1, 1])?;
/// let rtt = Compress::new(Method::RTt { factors: 2 }).budget(Budget::KeepFraction(0.5));
/// let layer = Tensorized::from_conv(&conv, &rtt)?;
/// assert!(layer.num_params() < conv.num_params());
/// let x = Tensor::random_normal(&[2, 6, 7, 7], 2)?;
/// assert_eq!(layer.forward(&x)?.shape(), &[2, 8, 7, 7]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Tensorized<T> {
    source: Source,
    engine: Engine<T>,
    bias: Option<Param<T>>,
    plan: Plan,
    rel_error: f64,
    /// The geometry of the last training forward pass.
    trained: Option<Geometry>,
}

/// The kind of a weight format, for messages.
fn format_name<T>(format: &WeightFormat<T>) -> &'static str {
    match format {
        WeightFormat::LowRank(_) => "low-rank",
        WeightFormat::Cp(_) => "CP",
        WeightFormat::Tucker(_) => "partial Tucker",
        WeightFormat::Tt(_) => "TT",
    }
}

/// `e` with the layer named, if it is a rank error.
fn name_layer(e: Error, op: &'static str, layer: &str) -> Error {
    match e {
        Error::InvalidRank { ranks, shape, detail, .. } => {
            Error::InvalidRank { op, ranks, shape, detail: format!("{layer}: {detail}") }
        }
        other => other,
    }
}

impl<T: Scalar> Tensorized<T> {
    /// Compresses the weight of `dense` with `compress` (a tensorized method, sized by a
    /// budget or by explicit ranks) and keeps its bias.
    ///
    /// ```
    /// use tensorize::nn::{Layer, Linear, Tensorized};
    /// use tensorize::tensorization::{Compress, Method};
    /// use tensorize::Tensor;
    /// let fc = Linear::new(Tensor::<f64>::random_normal(&[18, 12], 1)?, None)?;
    /// let rcp = Compress::new(Method::RCp { factors: 2 }).ranks(&[4]);
    /// let layer = Tensorized::from_linear(&fc, &rcp)?;
    /// assert_eq!(layer.ranks(), vec![4]);
    /// assert_eq!(layer.forward(&Tensor::random_normal(&[5, 12], 2)?)?.shape(), &[5, 18]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] named `method` for a method that is not tensorized; the
    /// errors of [`Compress::plan`] (a bad budget, `factors = 0`) and of [`Compress::fit`],
    /// rank errors ([`Error::InvalidRank`]: a zero rank, a list of the wrong length, a Tucker
    /// rank above its mode) naming the layer.
    pub fn from_linear(dense: &Linear<T>, compress: &Compress) -> Result<Self> {
        let w = Self::checked_fit(dense.weight(), compress, &dense.describe())?;
        Self::from_linear_weight(dense, &w)
    }

    /// As [`Tensorized::from_linear`] for a convolution (its stride and padding are kept).
    ///
    /// # Errors
    /// As [`Tensorized::from_linear`]; [`Error::InvalidParameter`] named `groups` for a
    /// grouped convolution.
    pub fn from_conv(dense: &Conv2d<T>, compress: &Compress) -> Result<Self> {
        Self::check_groups(dense)?;
        let w = Self::checked_fit(dense.weight(), compress, &dense.describe())?;
        Self::from_conv_weight(dense, &w)
    }

    /// The layer of `dense` (for its shape and bias) with the already compressed `weight`
    /// (e.g. to compare it with `weight.reconstruct()`).
    ///
    /// ```
    /// use tensorize::nn::{Layer, Linear, Tensorized};
    /// use tensorize::tensorization::{Compress, Method};
    /// use tensorize::Tensor;
    /// let fc = Linear::new(Tensor::<f64>::random_normal(&[18, 12], 1)?, Some(vec![0.5; 18]))?;
    /// let w = Compress::new(Method::RTucker { factors: 2 }).ranks(&[2]).fit(fc.weight())?;
    /// let layer = Tensorized::from_linear_weight(&fc, &w)?;
    /// let rebuilt = Linear::new(w.reconstruct()?, Some(vec![0.5; 18]))?;
    /// let x = Tensor::random_normal(&[3, 12], 2)?;
    /// let diff = layer.forward(&x)?.sub(&rebuilt.forward(&x)?)?.norm();
    /// assert!(diff < 1e-12 * rebuilt.forward(&x)?.norm());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `weight` was compressed from a weight of `dense`'s
    /// shape; [`Error::InvalidParameter`] named `method` for a method that is not tensorized.
    pub fn from_linear_weight(dense: &Linear<T>, weight: &CompressedWeight<T>) -> Result<Self> {
        let source = Source { input: dense.in_features(), out: dense.out_features(), window: None };
        Self::build(source, dense.weight(), dense.bias(), weight)
    }

    /// As [`Tensorized::from_linear_weight`] for a convolution.
    ///
    /// # Errors
    /// As [`Tensorized::from_linear_weight`]; [`Error::InvalidParameter`] named `groups` for a
    /// grouped convolution.
    pub fn from_conv_weight(dense: &Conv2d<T>, weight: &CompressedWeight<T>) -> Result<Self> {
        Self::check_groups(dense)?;
        let s = dense.weight().shape();
        let window =
            Window { kernel: [s[2], s[3]], stride: dense.stride(), padding: dense.padding() };
        let source =
            Source { input: dense.in_channels(), out: dense.out_channels(), window: Some(window) };
        Self::build(source, dense.weight(), dense.bias(), weight)
    }

    fn check_groups(dense: &Conv2d<T>) -> Result<()> {
        if dense.groups() != 1 {
            return Err(Error::InvalidParameter {
                name: "groups",
                value: dense.groups().to_string(),
                expected: "an ungrouped convolution for a tensorized layer",
            });
        }
        Ok(())
    }

    /// Plans first (method and rank errors before any work), then fits.
    fn checked_fit(w: &Tensor<T>, compress: &Compress, layer: &str) -> Result<CompressedWeight<T>> {
        let op = "Tensorized::new";
        let plan = compress.plan(&WeightShape::of(w)?).map_err(|e| name_layer(e, op, layer))?;
        Self::check_method(plan.method)?;
        compress.fit(w).map_err(|e| name_layer(e, op, layer))
    }

    fn check_method(method: Method) -> Result<()> {
        if !method.is_tensorized() {
            return Err(not_tensorized(method));
        }
        Ok(())
    }

    fn build(
        source: Source,
        dense: &Tensor<T>,
        bias: Option<&[T]>,
        weight: &CompressedWeight<T>,
    ) -> Result<Self> {
        let plan = weight.plan().clone();
        Self::check_method(plan.method)?;
        if plan.weight.dims() != dense.shape() {
            return Err(Error::ShapeMismatch {
                op: "Tensorized::build",
                left: dense.shape().to_vec(),
                right: plan.weight.dims(),
                detail: "the compressed weight must come from a weight of the layer's shape".into(),
            });
        }
        let bias = bias.map(<[T]>::to_vec);
        Self::assemble(source, plan, weight.format(), bias, weight.rel_error())
    }

    /// The layer of `source` running `format` (the decomposition `plan` describes).
    fn assemble(
        source: Source,
        plan: Plan,
        format: &WeightFormat<T>,
        bias: Option<Vec<T>>,
        rel_error: f64,
    ) -> Result<Self> {
        let layout = Layout::new(&plan.weight, plan.method)?;
        let shape = format.as_factorized().shape();
        if shape != layout.shape {
            return Err(Error::ShapeMismatch {
                op: OP,
                left: layout.shape.clone(),
                right: shape,
                detail: format!(
                    "{:?} of a {:?} weight decomposes a tensor of the first shape",
                    plan.method,
                    plan.weight.dims()
                ),
            });
        }
        let roles = roles(&layout);
        let engine = match (format, plan.method) {
            (WeightFormat::Cp(cp), Method::RCp { .. }) => Engine::Cp(CpEngine::new(cp, &roles)?),
            (WeightFormat::Tucker(t), Method::RTucker { .. }) => {
                Engine::Tucker(TuckerEngine::new(t, &roles, &source)?)
            }
            (WeightFormat::Tt(tt), Method::RTt { .. }) => Engine::Tt(TtEngine::new(tt, &layout)?),
            _ => {
                return Err(Error::InvalidParameter {
                    name: "format",
                    value: format!("{:?} for {:?}", format_name(format), plan.method),
                    expected: "CP for r-CP, partial Tucker for r-TK, TT for r-TT",
                });
            }
        };
        if let Some(b) = &bias {
            if b.len() != source.out {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    left: vec![source.out],
                    right: vec![b.len()],
                    detail: "the bias needs one entry per output".into(),
                });
            }
            crate::tensor::arith::check_finite_slice(OP, b)?;
        }
        Ok(Self {
            source,
            engine,
            bias: bias.map(|b| Param::new("bias", b)),
            plan,
            rel_error,
            trained: None,
        })
    }

    /// The layer replacing a dense layer of weight shape `weight` (run with `stride` and
    /// `padding` if it is a convolution; `[1, 1]` and `[0, 0]` for a linear layer) by the
    /// tensorized decomposition `format` of `method` — what [`Tensorized::format`] returns — and
    /// `bias`: a saved layer read back. `rel_error` is the error recorded when the weight was
    /// decomposed; the plan is that of the format's ranks ([`crate::tensorization::plan_ranks`],
    /// no budget).
    ///
    /// ```
    /// use tensorize::nn::{Layer, Linear, Tensorized};
    /// use tensorize::tensorization::{Compress, Method, WeightShape};
    /// use tensorize::Tensor;
    /// let fc = Linear::new(Tensor::<f64>::random_normal(&[18, 12], 1)?, Some(vec![0.5; 18]))?;
    /// let method = Method::RTt { factors: 2 };
    /// let layer = Tensorized::from_linear(&fc, &Compress::new(method).ranks(&[3]))?;
    /// let shape = WeightShape::of(fc.weight())?;
    /// let back = Tensorized::from_format(
    ///     shape, [1, 1], [0, 0], method, &layer.format()?, Some(vec![0.5; 18]), layer.rel_error())?;
    /// let x = Tensor::random_normal(&[3, 12], 2)?;
    /// assert_eq!(back.forward(&x)?, layer.forward(&x)?);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a method that is not tensorized, a format of another
    /// method, a zero stride, or a window other than `[1, 1]`, `[0, 0]` for a linear weight;
    /// [`Error::ShapeMismatch`] if the format does not decompose the tensorized weight's shape
    /// or the bias has not one entry per output; rank errors of the plan; [`Error::NonFinite`].
    pub fn from_format(
        weight: WeightShape,
        stride: [usize; 2],
        padding: [usize; 2],
        method: Method,
        format: &WeightFormat<T>,
        bias: Option<Vec<T>>,
        rel_error: f64,
    ) -> Result<Self> {
        Self::check_method(method)?;
        if stride.contains(&0) {
            return Err(Error::InvalidParameter {
                name: "stride",
                value: format!("{stride:?}"),
                expected: "at least 1 along each axis",
            });
        }
        let source = match weight {
            WeightShape::Linear { out, input } => {
                if (stride, padding) != ([1, 1], [0, 0]) {
                    return Err(Error::InvalidParameter {
                        name: "window",
                        value: format!("stride {stride:?}, padding {padding:?}"),
                        expected: "stride [1, 1] and padding [0, 0] for a linear weight",
                    });
                }
                Source { input, out, window: None }
            }
            WeightShape::Conv { out, input, kh, kw } => {
                Source { input, out, window: Some(Window { kernel: [kh, kw], stride, padding }) }
            }
        };
        let ranks = match format {
            WeightFormat::Cp(cp) => vec![cp.rank()],
            WeightFormat::Tucker(t) => t.factors().iter().map(|f| f.ncols()).collect(),
            WeightFormat::Tt(tt) => {
                let r = tt.ranks();
                r[1..r.len() - 1].to_vec()
            }
            WeightFormat::LowRank(lr) => vec![lr.rank()],
        };
        let ranks = if ranks.is_empty() { vec![1] } else { ranks };
        let plan = plan_ranks(&weight, method, &ranks)?;
        Self::assemble(source, plan, format, bias, rel_error)
    }

    /// The factors as they stand now (after training, too), as the decomposition of the
    /// tensorized weight: CP for r-CP (unit weights, λ folded into factor 0), partial Tucker
    /// for r-TK, TT for r-TT, of the tensor [`Plan::shape`]; what
    /// [`CompressedWeight::format`] holds, and what [`Tensorized::from_format`] takes back.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if the copies cannot be allocated.
    pub fn format(&self) -> Result<WeightFormat<T>> {
        let layout = Layout::new(&self.plan.weight, self.plan.method)?;
        Ok(match &self.engine {
            Engine::Cp(e) => WeightFormat::Cp(e.to_cp()?),
            Engine::Tucker(e) => WeightFormat::Tucker(e.to_tucker(&layout, &roles(&layout))?),
            Engine::Tt(e) => WeightFormat::Tt(e.to_tt(&layout)?),
        })
    }

    /// The stride and padding of the convolution it replaced (`[1, 1]`, `[0, 0]` for a linear
    /// layer).
    pub fn window(&self) -> ([usize; 2], [usize; 2]) {
        let w = self.source.window();
        (w.stride, w.padding)
    }

    /// The method (r-CP, r-TK or r-TT, with its number of channel factors).
    pub fn method(&self) -> Method {
        self.plan.method
    }

    /// The compression plan the layer was built with (shape, ranks, parameter counts).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The ranks as the factors stand now: `[R]` for r-CP, one per decomposed channel mode
    /// for r-TK (input modes, then output modes), the bond ranks for r-TT.
    pub fn ranks(&self) -> Vec<usize> {
        match &self.engine {
            Engine::Cp(e) => vec![e.rank()],
            Engine::Tucker(e) => e.ranks(),
            Engine::Tt(e) => e.ranks(),
        }
    }

    /// `‖W − Ŵ‖_F / ‖W‖_F` of the weight it replaced, when it was built.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }

    /// The bias, one per output, if the dense layer had one.
    pub fn bias(&self) -> Option<&[T]> {
        self.bias.as_ref().map(|b| b.value.as_slice())
    }

    /// The geometry of `input` and the output, or the layer's error.
    fn geometry(&self, input: &[usize]) -> Result<Geometry> {
        self.source.geometry(OP, &|| self.describe(), input)
    }
}

/// The output of a layer's map `run` (given the geometry and the input) plus the bias; an
/// empty input or output skips `run` (the map is linear: zeros).
fn affine<T: Scalar>(
    source: &Source,
    bias: Option<&Param<T>>,
    g: Geometry,
    x: &Tensor<T>,
    run: impl FnOnce(&Geometry, &[T]) -> Result<Vec<T>>,
) -> Result<Tensor<T>> {
    x.check_finite(OP)?;
    let out_shape = source.output_shape(&g);
    let mut y = Tensor::zeros(&out_shape)?;
    if !y.is_empty() && !x.is_empty() {
        y = Tensor::from_vec(&out_shape, run(&g, x.as_slice())?)?;
    }
    if let Some(b) = bias {
        let p = g.positions();
        for (row, &bo) in y.as_mut_slice().chunks_exact_mut(p).zip(b.value.iter().cycle()) {
            row.iter_mut().for_each(|v| *v += bo);
        }
    }
    Ok(y)
}

/// The error of a method that is not tensorized.
fn not_tensorized(method: Method) -> Error {
    Error::InvalidParameter {
        name: "method",
        value: method.name().into(),
        expected: "a tensorized method (r-CP, r-TK or r-TT)",
    }
}

impl<T: Scalar> Layer<T> for Tensorized<T> {
    fn describe(&self) -> String {
        let kind = if self.source.window.is_some() { "conv2d" } else { "linear" };
        let (name, factors) = match self.plan.method {
            Method::RCp { factors } => ("r-cp", factors),
            Method::RTucker { factors } => ("r-tk", factors),
            Method::RTt { factors } => ("r-tt", factors),
            _ => ("tensorized", 0),
        };
        let mut d = format!("{name}-{kind} {} L{factors} r{:?}", self.source.label(), self.ranks());
        if let Engine::Tt(e) = &self.engine {
            d.push_str(&e.merge_note());
        }
        d
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let g = self.geometry(input)?;
        Ok(self.source.output_shape(&g))
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let source = self.source;
        let run = |g: &Geometry, xs: &[T]| dispatch!(&self.engine, e => e.forward(&source, g, xs));
        affine(&source, self.bias.as_ref(), self.geometry(x.shape())?, x, run)
    }

    fn num_params(&self) -> usize {
        let engine = dispatch!(&self.engine, e => e.num_params());
        engine + self.bias.as_ref().map_or(0, |b| b.value.len())
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        let g = self.geometry(input)?.one();
        let source = self.source;
        match &self.engine {
            Engine::Cp(e) => Ok(e.flops(&source, &g)),
            Engine::Tucker(e) => e.flops(&g),
            Engine::Tt(e) => e.flops(&g),
        }
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let (source, g) = (self.source, self.geometry(x.shape())?);
        let engine = &mut self.engine;
        let run = |g: &Geometry, xs: &[T]| dispatch!(engine, e => e.forward_train(&source, g, xs));
        let y = affine(&source, self.bias.as_ref(), g, x, run)?;
        self.trained = Some(g);
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let g = self.trained.ok_or_else(|| no_forward(&self.describe()))?;
        let expected = self.source.output_shape(&g);
        // The name only for the error message (describing an r-TT layer builds its plan).
        let layer = if dy.shape() == expected { String::new() } else { self.describe() };
        check_grad(OP, &layer, dy, &expected)?;
        let in_shape: Vec<usize> = match self.source.window {
            None => vec![g.batch, g.channels],
            Some(_) => vec![g.batch, g.channels, g.hw[0], g.hw[1]],
        };
        if let Some(b) = &mut self.bias {
            let p = g.positions().max(1);
            for (row, gb) in dy.as_slice().chunks_exact(p).zip((0..b.grad.len()).cycle()) {
                b.grad[gb] += row.iter().fold(T::zero(), |a, &v| a + v);
            }
        }
        let numel: usize = in_shape.iter().product();
        if numel == 0 || dy.is_empty() {
            return Tensor::zeros(&in_shape);
        }
        let source = self.source;
        let dx = dispatch!(&mut self.engine, e => e.backward(&source, &g, dy.as_slice()))?;
        Tensor::from_vec(&in_shape, dx)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        dispatch!(&mut self.engine, e => e.visit_params(f));
        if let Some(b) = &mut self.bias {
            b.lend(f);
        }
    }
}
