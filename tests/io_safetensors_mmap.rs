//! Reading one tensor of a ~100 MB safetensors file does not read the rest: the file is
//! memory-mapped, and the pages of the map resident in this process (Linux `/proc/self/smaps`)
//! stay far below the file's size until the large tensor itself is read.
//! Alone in its binary so that no other test's memory blurs the count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tensorize::io::{Dtype, RawTensor, SafetensorsFile, SafetensorsWriter};
use tensorize::Tensor;

/// Resident kilobytes of the mappings of `path` in this process.
#[cfg(target_os = "linux")]
fn resident_kb(path: &std::path::Path) -> usize {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let target = path.canonicalize().unwrap().display().to_string();
    let mut inside = false;
    let mut kb = 0;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            // A mapping's header: "start-end perms offset dev inode [path]".
            inside = line.ends_with(&target);
        } else if inside && first == "Rss:" {
            kb += line.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap();
        }
    }
    kb
}

#[cfg(target_os = "linux")]
#[test]
fn reading_one_tensor_maps_in_only_its_pages() {
    let dir = std::env::temp_dir().join(format!("tensorize-io-mmap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.safetensors");
    const BIG: usize = 100 << 20;
    {
        // Zeroed memory is cheap to allocate; the write streams it out.
        let zeros = vec![0u8; BIG];
        let small = Tensor::from_vec(&[4], vec![1.0_f32, 2.0, 3.0, 4.0]).unwrap();
        SafetensorsWriter::new()
            .raw("a_big", RawTensor::new(Dtype::F32, &[BIG / 4], &zeros).unwrap())
            .tensor("z_small", &small)
            .write(&path)
            .unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() > BIG as u64);

    let file = SafetensorsFile::open(&path).unwrap();
    assert_eq!(file.read::<f32>("z_small").unwrap().as_slice(), &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(file.info("a_big").unwrap().byte_len, BIG);
    let after_small = resident_kb(&path);
    assert!(after_small < 4 << 10, "{after_small} kB resident after reading 16 bytes");

    // The measurement does see the big tensor once it is read.
    let sum: u64 = file.raw("a_big").unwrap().data().iter().map(|&b| u64::from(b)).sum();
    assert_eq!(sum, 0);
    let after_big = resident_kb(&path);
    assert!(after_big > 90 << 10, "{after_big} kB resident after reading 100 MB");
    drop(file);
    std::fs::remove_dir_all(&dir).unwrap();
}
