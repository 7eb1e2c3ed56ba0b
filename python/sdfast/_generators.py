"""The `generator` argument of a pipeline call, as the engine takes it.

numpy generators (np.random.Generator over PCG64) are read through `bit_generator.state` and, after
the run, set to the state the engine's copy ended in: the same as if numpy itself had drawn the
initial latents and the scheduler's noise. Integer seeds are numpy PCG64(seed) generators (or torch
CPU generators with generator_kind="torch"); one int S for N images means S, S+1, ... S+N-1.
"""
import numpy as np

_MASK64 = (1 << 64) - 1


class GeneratorPlan:
    """What to pass to the engine, and the numpy generators to advance afterwards."""

    def __init__(self, seeds=(), states=(), generators=()):
        self.seeds = list(seeds)
        self.states = list(states)
        self.generators = list(generators)

    def advance(self, final_states):
        """Leaves each numpy generator where numpy would be after the same draws."""
        if not self.generators:  # seeds, or fresh generators nobody holds
            return
        if len(final_states) != len(self.generators):
            raise RuntimeError(f"the engine returned {len(final_states)} generator states for "
                               f"{len(self.generators)} numpy generators")
        for g, (sh, sl, ih, il, has_uint32, uinteger) in zip(self.generators, final_states):
            g.bit_generator.state = {
                "bit_generator": "PCG64",
                "state": {"state": sh << 64 | sl, "inc": ih << 64 | il},
                "has_uint32": int(has_uint32),
                "uinteger": uinteger,
            }


def _state_tuple(g, index):
    bit_generator = g.bit_generator
    if type(bit_generator) is not np.random.PCG64:
        raise TypeError(f"generator {index}: a numpy Generator over {type(bit_generator).__name__}; "
                        "sdfast reproduces numpy's PCG64 (np.random.Generator(np.random.PCG64(seed)) "
                        "or np.random.default_rng(seed))")
    s = bit_generator.state
    state, inc = s["state"]["state"], s["state"]["inc"]
    return (state >> 64, state & _MASK64, inc >> 64, inc & _MASK64, bool(s["has_uint32"]),
            int(s["uinteger"]))


def _describe(obj):
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _is_seed(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def plan(generator, images, kind="numpy"):
    """Turns the `generator` argument into a GeneratorPlan; `images` is how many the call makes,
    `kind` the engine's generator ("numpy" or "torch") for int seeds."""
    if generator is None and kind != "numpy":
        # fresh random seeds for the engine's other generators
        return GeneratorPlan(seeds=[int(s) for s in np.random.SeedSequence().generate_state(images, np.uint64)])
    if generator is None:
        # Diffusers draws fresh random latents: fresh PCG64 generators seeded from the OS.
        return GeneratorPlan(states=[_state_tuple(np.random.Generator(np.random.PCG64()), i)
                                     for i in range(images)])
    items = list(generator) if isinstance(generator, (list, tuple)) else [generator]
    if not items:
        raise ValueError("generator: an empty list; give one generator per image")
    if all(_is_seed(x) for x in items):
        seeds = [int(x) for x in items]
        for s in seeds:
            if not 0 <= s < 1 << 64:
                raise ValueError(f"generator: seed {s} is outside 0 .. 2**64-1")
        return GeneratorPlan(seeds=seeds)
    states = []
    for i, g in enumerate(items):
        if isinstance(g, np.random.Generator):
            states.append(_state_tuple(g, i))
        elif isinstance(g, np.random.RandomState):
            raise TypeError(f"generator {i}: numpy's legacy RandomState (MT19937) is not supported; "
                            "use np.random.Generator(np.random.PCG64(seed))")
        elif _describe(g) == "torch._C.Generator":
            raise TypeError(f"generator {i}: torch.Generator objects are not supported; pass integer "
                            "seeds with generator_kind='torch' for torch's CPU randn, or numpy "
                            "generators")
        else:
            raise TypeError(f"generator {i}: expected a numpy.random.Generator or an int seed, got "
                            f"{_describe(g)}")
    seen = {}
    for i, g in enumerate(items):
        if id(g) in seen:
            raise ValueError(f"generator: images {seen[id(g)]} and {i} are given the same Generator "
                             "object; give one generator per image")
        seen[id(g)] = i
    return GeneratorPlan(states=states, generators=items)
