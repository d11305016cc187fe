// A strategy in the submission-SDK form (spec §3.5): plain functions over typed contexts; the
// build appends the native exports. The rule is the spec's starter (§5.3) in integer WAD fees:
// 30 bps + min(200, vol * 1e4) bps, +-10 bps by flow, +-5 bps by direction, floor 5 bps.
//
//   propamm validate strategies/rust/sdk_starter.rs
//   propamm run strategies/rust/sdk_starter.rs starter

use prop_amm_submission_sdk::{
    bps_to_wad, clamp_fee, cpamm_output_wad, read_f64, read_u64, write_f64, write_u64,
    AfterSwapContext, EpochContext, Storage, SwapContext,
};

pub const NAME: &str = "SDK Starter (Rust)";

const S_BID_FEE: usize = 0;
const S_ASK_FEE: usize = 1;
const S_VOL: usize = 2;
const S_LAST_SPOT: usize = 3;
const S_FLOW_EMA: usize = 4;
const S_TRADES: usize = 5;
const S_WEIGHT: usize = 6;
const S_EPOCH: usize = 7;

pub fn compute_swap(ctx: &SwapContext) -> u64 {
    let slot = if ctx.is_buy { S_BID_FEE } else { S_ASK_FEE };
    let fee = read_u64(&ctx.storage, slot).max(bps_to_wad(5));
    let (reserve_in, reserve_out) = if ctx.is_buy {
        (ctx.reserve_y, ctx.reserve_x)
    } else {
        (ctx.reserve_x, ctx.reserve_y)
    };
    cpamm_output_wad(ctx.input_amount, reserve_in, reserve_out, fee)
}

pub fn after_swap(ctx: &AfterSwapContext, storage: &mut Storage) {
    let spot = ctx.spot_price();
    let mut last = read_f64(storage, S_LAST_SPOT);
    let mut vol = read_f64(storage, S_VOL);
    let mut flow = read_f64(storage, S_FLOW_EMA);
    if last == 0.0 {
        last = spot;
        vol = 0.003;
        flow = 0.5;
    }
    vol = 0.05 * (spot / last).ln().abs() + 0.95 * vol;
    flow = 0.1 * ctx.flow_captured as f64 + 0.9 * flow;
    let base = 30 + ((vol * 1e4).min(200.0)) as u64;
    let flow_adj: i64 = if flow < 0.25 {
        -10
    } else if flow > 0.70 {
        10
    } else {
        0
    };
    let fee = |d: i64| clamp_fee(bps_to_wad(((base as i64) + flow_adj + d).max(5) as u64));
    let (same, other) = (fee(-5), fee(5));
    write_u64(storage, S_BID_FEE, if ctx.is_buy { same } else { other });
    write_u64(storage, S_ASK_FEE, if ctx.is_buy { other } else { same });
    write_f64(storage, S_VOL, vol);
    write_f64(storage, S_LAST_SPOT, spot);
    write_f64(storage, S_FLOW_EMA, flow);
    write_u64(storage, S_TRADES, read_u64(storage, S_TRADES) + 1);
}

pub fn on_epoch_boundary(ctx: &EpochContext, storage: &mut Storage) {
    let vol = read_f64(storage, S_VOL);
    write_f64(storage, S_VOL, 0.5 * vol + 0.5 * 0.003);
    write_u64(storage, S_TRADES, 0);
    write_f64(storage, S_WEIGHT, ctx.capital_weight as f64);
    write_u64(storage, S_EPOCH, ctx.epoch_number as u64);
}
