//! The data-set readers on arbitrary bytes: IDX (MNIST, gzip-compressed or not) and the digits
//! CSV. Whatever parses must be consistent (counts, shapes, labels in range, pixels in range).

use tensorize::data::{parse_digits_csv, Mnist};

use super::ByteReader;

/// The first byte picks the reader; for IDX the next two give the split between the image and
/// the label file.
pub fn readers(data: &[u8]) {
    let mut r = ByteReader::new(data);
    if r.byte() % 2 == 0 {
        let split =
            (usize::from(r.byte()) << 8 | usize::from(r.byte())).min(data.len().saturating_sub(3));
        let rest = &data[data.len().min(3)..];
        let (images, labels) = rest.split_at(split.min(rest.len()));
        if let Ok(m) = Mnist::from_idx_bytes(images, labels) {
            let [rows, cols] = m.image_shape();
            assert!(!m.is_empty() && rows * cols > 0);
            assert_eq!(m.labels().len(), m.len());
            assert!(m.num_classes() >= 1);
            for i in 0..m.len().min(4) {
                assert_eq!(m.pixels(i).expect("an image inside the file").len(), rows * cols);
            }
            assert!(m.pixels(m.len()).is_err());
        }
    } else {
        let text = &data[1.min(data.len())..];
        if let Ok(d) = parse_digits_csv::<f64>(text) {
            assert_eq!(d.images.shape(), &[d.labels.len(), 8, 8]);
            assert!(d.labels.iter().all(|&l| l <= 9));
            assert!(d.images.as_slice().iter().all(|&v| (0.0..=16.0).contains(&v)));
        }
        let _ = parse_digits_csv::<f32>(text);
    }
}
