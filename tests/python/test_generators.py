"""numpy generators given to a pipeline: read as numpy holds them, advanced as numpy would be."""
import numpy as np
import pytest

import sdfast

SMALL = dict(prompt="a red circle", num_inference_steps=3, guidance_scale=1.0, height=64, width=64)
LATENT = (1, 4, 8, 8)  # per image, for 64x64


def pcg(seed):
    return np.random.Generator(np.random.PCG64(seed))


@pytest.fixture()
def ancestral(sd15):
    """sd15 with Euler ancestral: it draws a latent-sized noise from each generator every step."""
    original = sd15.scheduler
    sd15.scheduler = sdfast.EulerAncestralDiscreteScheduler.from_config(original.config)
    yield sd15
    sd15.scheduler = original


def test_generators_end_where_numpy_would(ancestral):
    gens = [pcg(10), pcg(11)]
    twins = [pcg(10), pcg(11)]
    ancestral(**SMALL, num_images_per_prompt=2, generator=gens)
    for g, twin in zip(gens, twins):
        # initial latents, then one noise draw per step
        for _ in range(1 + SMALL["num_inference_steps"]):
            twin.standard_normal(LATENT)
        assert g.bit_generator.state == twin.bit_generator.state
        assert g.standard_normal() == twin.standard_normal()


def test_a_generator_mid_stream_draws_what_numpy_draws(sd15):
    # DDIM with eta 0 draws only the initial latents: giving them as `latents` must agree.
    original = sd15.scheduler
    sd15.scheduler = sdfast.DDIMScheduler.from_config(original.config)
    try:
        g, twin = pcg(5), pcg(5)
        g.standard_normal(17)
        twin.standard_normal(17)
        g.integers(0, 1000, dtype=np.uint32)  # fills numpy's 32-bit buffer (has_uint32)
        twin.integers(0, 1000, dtype=np.uint32)
        assert g.bit_generator.state["has_uint32"] == 1
        by_generator = sd15(**SMALL, generator=g, output_type="np").images
        latents = twin.standard_normal(LATENT).astype(np.float32)
        by_latents = sd15(**SMALL, generator=7, latents=latents, output_type="np").images
    finally:
        sd15.scheduler = original
    np.testing.assert_array_equal(by_generator, by_latents)
    assert g.bit_generator.state == twin.bit_generator.state  # the buffer kept, as numpy keeps it


def test_int_seeds_are_pcg64_generators(sd15):
    a = sd15(**SMALL, num_images_per_prompt=2, generator=[3, 4], output_type="np").images
    b = sd15(**SMALL, num_images_per_prompt=2, generator=[pcg(3), pcg(4)], output_type="np").images
    c = sd15(**SMALL, num_images_per_prompt=2, generator=3, output_type="np").images  # 3, 4
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_wrong_number_of_generators_is_the_engines_message(sd15):
    g = pcg(0)
    before = g.bit_generator.state
    with pytest.raises(ValueError, match=r"one generator state per image \(2\), got 1"):
        sd15(**SMALL, num_images_per_prompt=2, generator=g)
    with pytest.raises(ValueError, match=r"one generator state per image \(2\), got 3"):
        sd15(**SMALL, num_images_per_prompt=2, generator=[pcg(0), pcg(1), pcg(2)])
    with pytest.raises(ValueError, match=r"one seed, or one per image \(2\), got 3"):
        sd15(**SMALL, num_images_per_prompt=2, generator=[0, 1, 2])
    assert g.bit_generator.state == before  # a refused call draws nothing


@pytest.mark.parametrize("bad, error, words", [
    (np.random.Generator(np.random.PCG64DXSM(0)), TypeError, "over PCG64DXSM"),
    (np.random.Generator(np.random.MT19937(0)), TypeError, "over MT19937"),
    (np.random.RandomState(0), TypeError, "legacy RandomState"),
    ("seed", TypeError, "got builtins.str"),
    (1.5, TypeError, "got builtins.float"),
    (-1, ValueError, "outside 0 .. 2**64-1"),
    ([], ValueError, "empty list"),
])
def test_wrong_generator_types(sd15, bad, error, words):
    with pytest.raises(error, match=words.replace("*", r"\*").replace(".", r"\.")):
        sd15(**SMALL, generator=bad)


def test_the_same_generator_twice_is_refused(sd15):
    g = pcg(0)
    with pytest.raises(ValueError, match="same Generator object"):
        sd15(**SMALL, num_images_per_prompt=2, generator=[g, g])


def test_no_generator_draws_fresh_random_latents(sd15):
    a = sd15(**SMALL, output_type="np").images
    b = sd15(**SMALL, output_type="np").images
    assert not np.array_equal(a, b)
