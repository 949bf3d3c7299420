import pytest
import torch

from canvasedit.params import ParamsError
from canvasedit.engine.sampling import (
    Remasking,
    SamplerParams,
    choose_tokens,
    confidence,
    filter_logits,
    select_positions,
)


def test_argmax_at_temperature_zero():
    logits = torch.tensor([[0.1, 3.0, 0.2], [2.0, 0.0, 1.0]])
    assert choose_tokens(logits, 0.0, None).tolist() == [1, 0]


def test_gumbel_max_matches_llada_exp_form():
    # LLaDA: argmax(exp(l) / (-log u)^T) in float64; ours works in log space with the same u.
    torch.manual_seed(0)
    logits = torch.randn(64, 50)
    g1 = torch.Generator().manual_seed(3)
    ours = choose_tokens(logits, 0.7, g1)
    g2 = torch.Generator().manual_seed(3)
    u = torch.rand(logits.shape, dtype=torch.float64, generator=g2)
    reference = (logits.double().exp() / (-torch.log(u)) ** 0.7).argmax(-1)
    assert torch.equal(ours, reference)


def test_sampling_follows_softmax():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).repeat(20000, 1)
    picks = choose_tokens(logits, 1.0, torch.Generator().manual_seed(0))
    freq = torch.bincount(picks, minlength=3).float() / len(picks)
    assert torch.allclose(freq, torch.tensor([0.7, 0.2, 0.1]), atol=0.015), freq


def test_confidence_strategies():
    probs = torch.tensor([[0.6, 0.3, 0.1], [0.34, 0.33, 0.33]])
    x0 = torch.tensor([0, 1])
    assert confidence(probs, x0, Remasking.LOW_CONFIDENCE).tolist() == pytest.approx([0.6, 0.33])
    assert confidence(probs, x0, Remasking.MARGIN).tolist() == pytest.approx([0.3, 0.01])
    ent = confidence(probs, x0, Remasking.ENTROPY)
    assert ent[0] > ent[1]  # the peaked row is more certain
    r1 = confidence(probs, x0, Remasking.RANDOM, torch.Generator().manual_seed(5))
    r2 = confidence(probs, x0, Remasking.RANDOM, torch.Generator().manual_seed(5))
    assert torch.equal(r1, r2) and ((r1 >= 0) & (r1 < 1)).all()


def test_top_k_and_top_p_filtering():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    k2 = filter_logits(logits, top_k=2)
    assert (k2[0, 2:] == torch.finfo(k2.dtype).min).all() and (k2[0, :2] == logits[0, :2]).all()
    p = filter_logits(logits, top_p=0.7)  # 0.5 then 0.3 crosses 0.7: keep two
    assert (p[0, :2] == logits[0, :2]).all() and (p[0, 2:] == torch.finfo(p.dtype).min).all()


def test_select_positions_topk_threshold_and_at_least_one():
    conf = torch.tensor([0.2, 0.95, 0.5, 0.91])
    assert sorted(select_positions(conf, 2).tolist()) == [1, 3]
    assert sorted(select_positions(conf, 1, threshold=0.9).tolist()) == [1, 3]
    assert select_positions(conf, 0, threshold=0.99).tolist() == [1]


def test_params_are_checked_on_construction():
    with pytest.raises(ParamsError):
        SamplerParams(steps=0)
    with pytest.raises(ValueError, match="threshold"):
        SamplerParams(threshold=1.5)
    with pytest.raises(ValueError, match="temperature"):
        SamplerParams(temperature=float("nan"))
    p = SamplerParams.layered({"algorithm": "margin", "steps": 8, "block_length": 4}, {"seed": 3})
    assert p.algorithm is Remasking.MARGIN and p.steps == 8 and p.block_length == 4 and p.seed == 3
    with pytest.raises(ValueError, match="unknown sampler setting 'stepz'"):
        SamplerParams.layered({"stepz": 3})
