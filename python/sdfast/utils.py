"""diffusers.utils counterparts: make_image_grid."""
from PIL import Image


def make_image_grid(images, rows, cols, resize=None):
    """Pastes `rows * cols` PIL images into one, row by row (diffusers.utils.make_image_grid).

    `resize`: an edge length every image is first resized to (square), as Diffusers does.
    """
    images = list(images)
    if rows < 1 or cols < 1:
        raise ValueError(f"make_image_grid: rows and cols must be at least 1, got {rows}x{cols}")
    if len(images) != rows * cols:
        raise ValueError(f"make_image_grid: a {rows}x{cols} grid needs {rows * cols} images, "
                         f"got {len(images)}")
    if resize is not None:
        images = [img.resize((resize, resize)) for img in images]
    width, height = images[0].size
    for i, img in enumerate(images):
        if img.size != (width, height):
            raise ValueError(f"make_image_grid: image {i} is {img.size[0]}x{img.size[1]}, "
                             f"image 0 is {width}x{height}")
    grid = Image.new("RGB", size=(cols * width, rows * height))
    for i, img in enumerate(images):
        grid.paste(img, box=((i % cols) * width, (i // cols) * height))
    return grid
