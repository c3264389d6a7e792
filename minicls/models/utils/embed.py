"""``resize_pos_embed``: stretch a ViT's position embeddings to another token grid.

A ViT learns one position vector per patch of its training grid (14x14 for 224-pixel images
and 16-pixel patches). At another image size the grid differs, so the vectors, viewed as a
``C``-channel image of the old grid, are resized (bicubic by default) to the new one; the
extra tokens' vectors (the cls token's) are kept as they are.
"""
import minicls
from minicls.nn import functional as F

__all__ = ['resize_pos_embed']


def resize_pos_embed(pos_embed, src_shape, dst_shape, mode='bicubic', num_extra_tokens=1):
    """``pos_embed (1, extra + src_h * src_w, C)`` -> ``(1, extra + dst_h * dst_w, C)``.

    Returns ``pos_embed`` itself when the shapes agree.
    """
    if tuple(src_shape) == tuple(dst_shape):
        return pos_embed
    if pos_embed.ndim != 3:
        raise ValueError(f'pos_embed must have shape (1, L, C), got {tuple(pos_embed.shape)}')
    _, length, channels = pos_embed.shape
    src_h, src_w = src_shape
    if length != src_h * src_w + num_extra_tokens:
        raise ValueError(f"The length of `pos_embed` ({length}) doesn't match the expected "
                         f'shape ({src_h}*{src_w}+{num_extra_tokens}). Please check the '
                         '`img_size` argument.')
    extra = pos_embed[:, :num_extra_tokens]
    grid = pos_embed[:, num_extra_tokens:].reshape(1, src_h, src_w, channels).permute(0, 3, 1, 2)
    # (mmpretrain resizes in float32 and casts back; minicls keeps the table's own dtype)
    grid = F.interpolate(grid, size=tuple(dst_shape), align_corners=False, mode=mode)
    return minicls.cat((extra, grid.flatten(2).transpose(1, 2)), dim=1)
