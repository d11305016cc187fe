// A native-ABI strategy (spec §3.5), written the way the reference challenge's simple submissions
// are: standard library only, raw payload bytes, u128 arithmetic on nano amounts.
//
// Constant product with a fee on the input that widens with activity: 30 bps plus 1 bp per trade
// since the last epoch boundary (at most +20 bps), +5 bps more on the side opposite the last
// trade. Storage: slot 12 = trades this epoch (u64), slot 13 = last trade's side (u64),
// slot 14 = epochs seen (u64).
//
//   propamm validate strategies/rust/widening_fee.rs
//   propamm run strategies/rust/widening_fee.rs starter

const STORAGE: usize = 1024;
const SLOT_TRADES: usize = 12;
const SLOT_LAST_SIDE: usize = 13;
const SLOT_EPOCHS: usize = 14;

fn read_u64(b: &[u8], off: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(x)
}

fn slot(st: &[u8], k: usize) -> u64 {
    read_u64(st, 8 * k)
}

fn set_slot(st: &mut [u8], k: usize, v: u64) {
    st[8 * k..8 * k + 8].copy_from_slice(&v.to_le_bytes());
}

fn fee_bps(st: &[u8], side: u8) -> u128 {
    let trades = slot(st, SLOT_TRADES).min(20) as u128;
    let traded = slot(st, SLOT_TRADES) > 0;
    let opposite = traded && slot(st, SLOT_LAST_SIDE) != side as u64;
    30 + trades + if opposite { 5 } else { 0 }
}

#[no_mangle]
pub extern "C" fn __prop_amm_compute_swap(data: *const u8, len: usize) -> u64 {
    if data.is_null() || len < 25 + STORAGE {
        return 0;
    }
    let d = unsafe { std::slice::from_raw_parts(data, len) };
    let side = d[0];
    if side > 1 {
        return 0;
    }
    let input = read_u64(d, 1) as u128;
    let (rx, ry) = (read_u64(d, 9) as u128, read_u64(d, 17) as u128);
    let (r_in, r_out) = if side == 0 { (ry, rx) } else { (rx, ry) };
    let st = &d[25..25 + STORAGE];
    let gi = input * (10_000 - fee_bps(st, side)) / 10_000;
    if r_in + gi == 0 {
        return 0;
    }
    (r_out * gi / (r_in + gi)) as u64
}

#[no_mangle]
pub extern "C" fn __prop_amm_after_swap(data: *const u8, len: usize, storage: *mut u8) {
    if data.is_null() || storage.is_null() || len == 0 {
        return;
    }
    let d = unsafe { std::slice::from_raw_parts(data, len) };
    let st = unsafe { std::slice::from_raw_parts_mut(storage, STORAGE) };
    match d[0] {
        2 if len >= 92 + STORAGE => {
            st.copy_from_slice(&d[92..92 + STORAGE]);
            let trades = slot(st, SLOT_TRADES);
            set_slot(st, SLOT_TRADES, trades + 1);
            set_slot(st, SLOT_LAST_SIDE, d[1] as u64);
        }
        5 if len >= 41 + STORAGE => {
            st.copy_from_slice(&d[41..41 + STORAGE]);
            set_slot(st, SLOT_TRADES, 0);
            let epochs = slot(st, SLOT_EPOCHS);
            set_slot(st, SLOT_EPOCHS, epochs + 1);
        }
        _ => {}
    }
}

#[no_mangle]
pub extern "C" fn __prop_amm_get_name(buf: *mut u8, max_len: usize) -> usize {
    let name = b"Widening Fee (Rust)";
    let n = name.len().min(max_len);
    unsafe { std::ptr::copy_nonoverlapping(name.as_ptr(), buf, n) };
    n
}
