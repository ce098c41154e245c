//! Empty tensors (a zero dimension, e.g. an empty batch) are first-class where they make sense —
//! construction, layout, views, elementwise arithmetic, norms, unfoldings, mode products, file
//! formats, batched TT products and the TT-layer — and refused with `ZeroDimension` by every
//! decomposition, format, rank rule and compression. Never a panic.

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use faer::Mat;
use tensorize::decomp::{self, CpAls, Hosvd, TrSvd, TtSvd};
use tensorize::format::{TrTensor, TtMatrix, TtTensor, TuckerTensor};
use tensorize::kernels::{self, TtOp};
use tensorize::nn::TtLinear;
use tensorize::par::Par;
use tensorize::tensorization::{self, Method, ShuffleKind};
use tensorize::{io, rank, tenalg, Budget, Error, Scalar, Tensor};

fn is_zero_dim<V: std::fmt::Debug>(r: Result<V, Error>) -> bool {
    matches!(r, Err(Error::ZeroDimension { .. }))
}

fn empty<T: Scalar>(shape: &[usize]) -> Tensor<T> {
    Tensor::zeros(shape).unwrap()
}

fn construction_and_layout<T: Scalar>() {
    let x = empty::<T>(&[3, 0, 4]);
    assert_eq!((x.numel(), x.is_empty()), (0, true));
    for y in [
        Tensor::<T>::ones(&[3, 0, 4]).unwrap(),
        Tensor::full(&[3, 0, 4], T::one()).unwrap(),
        Tensor::from_fn(&[3, 0, 4], |_| T::one()).unwrap(),
        Tensor::random_normal(&[3, 0, 4], 1).unwrap(),
        Tensor::random_uniform(&[3, 0, 4], T::zero(), T::one(), 1).unwrap(),
        Tensor::from_vec(&[3, 0, 4], vec![]).unwrap(),
    ] {
        assert_eq!(y, x);
    }
    assert_eq!(x.clone().reshape(&[0, 7]).unwrap().shape(), &[0, 7]);
    assert_eq!(x.permute_modes(&[2, 0, 1]).unwrap().shape(), &[4, 3, 0]);
    assert_eq!(x.select(0, 2).unwrap().shape(), &[0, 4]);
    assert_eq!(x.slice(2, 1..3).unwrap().shape(), &[3, 0, 2]);
    assert!(matches!(x.get(&[0, 0, 0]), Err(Error::IndexOutOfBounds { .. })));
    // An empty range of a non-empty tensor.
    let full = Tensor::<T>::random_normal(&[3, 5], 2).unwrap();
    assert_eq!(full.slice(1, 2..2).unwrap().shape(), &[3, 0]);
    assert_eq!(full.view().slice(0, 3..3).unwrap().to_tensor().unwrap().shape(), &[0, 5]);
    // Order 0 is one element, not empty.
    assert!(!Tensor::<T>::from_vec(&[], vec![T::one()]).unwrap().is_empty());
    assert_eq!(Tensor::<T>::from_mat(Mat::<T>::zeros(0, 3).as_ref()).unwrap().shape(), &[0, 3]);
    assert_eq!(empty::<T>(&[0, 3]).as_mat().unwrap().nrows(), 0);
    assert_eq!(x.cast::<f64>().unwrap().shape(), &[3, 0, 4]);
}

fn views_and_arithmetic<T: Scalar>() {
    let mut x = empty::<T>(&[2, 0, 3]);
    let y = empty::<T>(&[2, 0, 3]);
    let v = x.view().select(0, 1).unwrap().permute(&[1, 0]).unwrap();
    assert_eq!(v.shape(), &[3, 0]);
    assert_eq!(v.as_slice(), Some(&[][..]));
    assert!(v.to_tensor().unwrap().is_empty());
    x.view_mut().slice(2, 1..2).unwrap().fill(T::one());
    x.view_mut().assign(&y.view()).unwrap();
    assert_eq!(x.add(&y).unwrap(), y);
    assert_eq!(x.sub(&y).unwrap(), y);
    assert_eq!(x.hadamard(&y).unwrap(), y);
    assert_eq!(x.scale(T::of(2.0)), y);
    x.add_assign(&y).unwrap();
    x.map_in_place(|v| v + T::one());
    let mut out = empty::<T>(&[2, 0, 3]);
    x.add_into(&y, &mut out).unwrap();
    let mut perm = empty::<T>(&[3, 2, 0]);
    x.permute_modes_into(&[2, 0, 1], &mut perm).unwrap();
    assert_eq!((x.norm(), x.inner(&y).unwrap(), x.max_abs()), (T::zero(), T::zero(), T::zero()));
    assert!(x.is_finite() && x.check_finite("test").is_ok());
    assert!(is_zero_dim(x.check_nonempty()));
}

fn algebra<T: Scalar>() {
    let x = empty::<T>(&[3, 0, 4]);
    let u = tenalg::unfold(&x, 0).unwrap();
    assert_eq!(u.shape(), &[3, 0]);
    assert_eq!(tenalg::unfold(&x, 1).unwrap().shape(), &[0, 12]);
    assert_eq!(tenalg::fold(&u, 0, &[3, 0, 4]).unwrap(), x);
    let mut back = empty::<T>(&[3, 0, 4]);
    tenalg::fold_into(&u, 0, &mut back).unwrap();
    let a = Mat::<T>::from_fn(5, 4, |i, j| T::of((i + j) as f64));
    let y = tenalg::mode_product(&x, a.as_ref(), 2).unwrap();
    assert_eq!(y.shape(), &[3, 0, 5]);
    let mut y2 = empty::<T>(&[3, 0, 5]);
    tenalg::mode_product_into(&x, a.as_ref(), 2, &mut y2, Par::Seq).unwrap();
    assert_eq!(tenalg::mode_vector_product(&x, &[T::one(); 4], 2).unwrap().shape(), &[3, 0]);
    assert_eq!(tenalg::mode_vector_product(&x, &[T::one(); 3], 0).unwrap().shape(), &[0, 4]);
    // Contracting the empty mode: a non-empty result of empty sums.
    let over_empty = tenalg::mode_product(&x, Mat::<T>::zeros(5, 0).as_ref(), 1).unwrap();
    assert_eq!((over_empty.shape(), over_empty.max_abs()), (&[3, 5, 4][..], T::zero()));
    let mut filled = Tensor::<T>::ones(&[3, 5, 4]).unwrap();
    tenalg::mode_product_into(&x, Mat::<T>::zeros(5, 0).as_ref(), 1, &mut filled, Par::Seq)
        .unwrap();
    assert_eq!(filled, over_empty);
    // A batch of zero vectors through a 5 × 4 matrix.
    let batch = empty::<T>(&[0, 4]);
    assert_eq!(tenalg::mode_product(&batch, a.as_ref(), 1).unwrap().shape(), &[0, 5]);
    let fs = [Mat::<T>::zeros(3, 2), Mat::zeros(0, 2), Mat::zeros(4, 2)];
    let frefs: Vec<_> = fs.iter().map(|m| m.as_ref()).collect();
    assert!(is_zero_dim(tenalg::mttkrp(&x, &frefs, 0)));
    assert!(is_zero_dim(kernels::mttkrp_fast(&x, &frefs, 0)));
}

fn decompositions_refuse<T: Scalar>() {
    let x = empty::<T>(&[3, 0, 4]);
    assert!(is_zero_dim(decomp::hosvd(&x, &[1, 1, 1])));
    assert!(is_zero_dim(decomp::st_hosvd(&x, &[1, 1, 1])));
    assert!(is_zero_dim(Hosvd::with_error(0.1).fit(&x)));
    assert!(is_zero_dim(decomp::hooi(&x, &[1, 1, 1])));
    assert!(is_zero_dim(decomp::partial_tucker(&x, &[0], &[1])));
    assert!(is_zero_dim(decomp::tucker2(&empty::<T>(&[2, 0, 3, 3]), 1, 1)));
    assert!(is_zero_dim(decomp::cp_als(&x, 2)));
    assert!(is_zero_dim(CpAls::new(2).fit(&x)));
    assert!(is_zero_dim(decomp::tt_svd(&x, 0.1)));
    assert!(is_zero_dim(decomp::tt_svd_rank(&x, 2)));
    assert!(is_zero_dim(TtSvd::new().fit_matrix(&empty::<T>(&[0, 4]), &[2, 2], &[2, 2])));
    assert!(is_zero_dim(decomp::tr_svd(&x, 0.1)));
    assert!(is_zero_dim(TrSvd::new().fit(&x)));
}

fn formats_and_ranks_refuse<T: Scalar>() {
    let x = empty::<T>(&[3, 0, 4]);
    let core = |shape: &[usize]| empty::<T>(shape);
    assert!(is_zero_dim(TtTensor::new(vec![core(&[1, 3, 0]), core(&[0, 4, 1])])));
    assert!(is_zero_dim(TrTensor::new(vec![core(&[0, 3, 0])])));
    assert!(is_zero_dim(TtMatrix::new(vec![core(&[1, 2, 0, 1])])));
    assert!(is_zero_dim(TuckerTensor::new(
        core(&[0, 2]),
        vec![Mat::zeros(3, 0), Mat::zeros(4, 2)]
    )));
    assert!(is_zero_dim(rank::tucker_spectra(&x)));
    assert!(is_zero_dim(rank::tt_bond_spectra(&x)));
    assert!(is_zero_dim(rank::tucker_for_budget(&x, Budget::KeepFraction(0.5))));
    assert!(is_zero_dim(rank::tt_for_budget(&x, Budget::KeepFraction(0.5))));
    let w = empty::<T>(&[0, 8]);
    assert!(is_zero_dim(tensorization::compress(&w, Method::Svd, Budget::KeepFraction(0.5))));
    assert!(is_zero_dim(tensorization::LowRank::from_matrix(&w, 1)));
    assert!(is_zero_dim(tensorization::weight_spectrum(&w, Par::Seq)));
    assert!(is_zero_dim(tensorization::spectrum_error(&w, &w, None)));
    assert!(is_zero_dim(tensorization::rstd_tt(&x, ShuffleKind::Whole, 1, &TtSvd::new())));
}

fn batches_and_files<T: Scalar>() {
    // An empty batch through a TT-matrix and the TT-layer: empty outputs, zero gradients.
    let layer = TtLinear::<T>::glorot(&[2, 3], &[2, 2], &[2], 7).unwrap();
    let batch = empty::<T>(&[0, 4]);
    assert_eq!(layer.weight().matvec_batch(&batch).unwrap().shape(), &[0, 6]);
    let plan = layer.weight().plan(TtOp::Normal).unwrap();
    assert_eq!(plan.apply(&batch).unwrap().shape(), &[0, 6]);
    assert_eq!(layer.forward(&batch).unwrap().shape(), &[0, 6]);
    let (y, cache) = layer.forward_with_cache(&batch).unwrap();
    assert_eq!(y.shape(), &[0, 6]);
    let grads = layer.gradients(&cache, &y).unwrap();
    assert_eq!(grads.input.shape(), &[0, 4]);
    assert!(grads.cores.iter().all(|g| g.max_abs() == T::zero()));
    assert!(grads.bias.iter().all(|&g| g == T::zero()));
    // Files hold empty arrays too.
    let x = empty::<T>(&[3, 0]);
    assert_eq!(io::parse_npy::<T>(&io::npy_bytes(&x)).unwrap(), x);
    let bytes = io::safetensors_bytes(&[("e", &x)]).unwrap();
    assert_eq!(io::parse_safetensors::<T>(&bytes).unwrap(), vec![("e".to_string(), x)]);
}

macro_rules! both_precisions {
    ($($name:ident),*) => {
        mod f32_inputs { $(#[test] fn $name() { super::$name::<f32>() })* }
        mod f64_inputs { $(#[test] fn $name() { super::$name::<f64>() })* }
    };
}

both_precisions!(
    construction_and_layout,
    views_and_arithmetic,
    algebra,
    decompositions_refuse,
    formats_and_ranks_refuse,
    batches_and_files
);
