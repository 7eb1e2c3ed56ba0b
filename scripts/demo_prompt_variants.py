#!/usr/bin/env python3
"""Writes the prompt lists of the readings of the demo README's "50 prompts `a COLOR SHAPE on a BG
background` (random, seed 2024)" that docs/demo.md compares, one file per reading, for
`sdfast adherence --prompts-file FILE`. Python 3 standard library only.

    scripts/demo_prompt_variants.py OUT_DIR [--count 50] [--seed 2024]

The reading `sample` is the one `sdfast adherence` draws itself (src/eval/shape_prompts.cpp).
"""
import argparse
import os
import random

COLORS = ["red", "green", "blue", "yellow", "white", "black", "purple", "orange"]
SHAPES = ["circle", "square", "triangle"]


def with_article(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


def prompt(color, shape, background):
    return f"{with_article(color)} {shape} on {with_article(background)} background"


def choice(rng):
    """colour, shape, then a background chosen among the other colours."""
    c = rng.choice(COLORS)
    s = rng.choice(SHAPES)
    b = rng.choice([x for x in COLORS if x != c])
    return prompt(c, s, b)


def redraw(rng):
    """colour, shape, then a background redrawn until it differs from the colour."""
    c = rng.choice(COLORS)
    s = rng.choice(SHAPES)
    b = rng.choice(COLORS)
    while b == c:
        b = rng.choice(COLORS)
    return prompt(c, s, b)


def sample(rng):
    """two different colours with random.sample, then the shape."""
    c, b = rng.sample(COLORS, 2)
    s = rng.choice(SHAPES)
    return prompt(c, s, b)


def shape_first(rng):
    """shape, colour, then a background chosen among the other colours."""
    s = rng.choice(SHAPES)
    c = rng.choice(COLORS)
    b = rng.choice([x for x in COLORS if x != c])
    return prompt(c, s, b)


READINGS = {"choice": choice, "redraw": redraw, "sample": sample, "shape-first": shape_first}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for name, draw in READINGS.items():
        rng = random.Random(args.seed)
        path = os.path.join(args.out_dir, f"prompts-{name}.txt")
        with open(path, "w") as f:
            f.write(f"# {draw.__doc__} random.Random({args.seed})\n")
            for _ in range(args.count):
                f.write(draw(rng) + "\n")
        print(path)


if __name__ == "__main__":
    main()
