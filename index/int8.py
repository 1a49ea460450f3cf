"""Int8 inference for a model's linear layers: weights per output channel, inputs per call."""

from __future__ import annotations

import warnings

import torch

from index.cpu_features import int8_weight_levels


class Int8Linear(torch.nn.Module):
    """A Linear layer computed by fbgemm with int8 weights and dynamically quantized inputs."""

    def __init__(self, linear: torch.nn.Linear, *, weight_levels: int = 127) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        # Symmetric per-row scales: one outlier row no longer coarsens every other row.
        scales = (weight.abs().amax(dim=1) / weight_levels).clamp(min=1e-12).double()
        zero_points = torch.zeros(weight.shape[0], dtype=torch.long)
        bias = None if linear.bias is None else linear.bias.detach().float()
        with warnings.catch_warnings():
            # torch 2.13 marks quantized tensors deprecated; pyproject pins torch, so they stay.
            warnings.filterwarnings("ignore", message=".*quantized tensor creation functions")
            quantized = torch.quantize_per_channel(weight, scales, zero_points, 0, torch.qint8)
            self._packed = torch.ops.quantized.linear_prepack(quantized, bias)
        self.in_features = linear.in_features
        self.out_features = linear.out_features

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Quantize the inputs over their range, multiply by the int8 weights, rescale."""
        result: torch.Tensor = torch.ops.quantized.linear_dynamic(
            inputs, self._packed, reduce_range=False
        )
        return result


def quantize_linear_layers(model: torch.nn.Module) -> int:
    """Replace every Linear layer of model with an Int8Linear in place; return how many."""
    levels = int8_weight_levels()
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(parent, name, Int8Linear(child, weight_levels=levels))
                replaced += 1
    return replaced
