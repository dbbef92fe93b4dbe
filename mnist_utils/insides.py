"""Pictures of the model's insides, drawn from the learner's own trained model and real digits.

Numbers first, then the picture (as fastai does): each `show_...` function draws what a
companion function computes, and the companion returns the arrays for a learner to check.

    logits_and_probabilities / show_logits          01: softmax turns scores into probabilities
    weight_templates / show_weight_templates        01: the ten 28x28 templates a layer learned
    pre_activations / show_activation_slopes        02: why sigmoid stalls and ReLU does not
    shift_digit, shifted_predictions,
        shifted_accuracy / show_shifted_digit       03, 04: the same digits two pixels over
    filters_and_feature_maps / show_filters         04, 05: the first convolution's filters
    convolution_step / show_convolution             04: one output value, patch × filter
    batch_norm_values / show_batch_norm             05: one layer before and after batch norm

Nothing here trains or changes the model: values come from calling its layers in inference
mode (training=False) with keras.ops, so it works on every Keras backend. The models are
keras.Sequential, as in the notebooks. Every figure is returned, never shown through pyplot.
Each topic has its own small module (_insides_softmax.py, _insides_activations.py,
_insides_shifts.py, _insides_convolutions.py, _insides_batch_norm.py, sharing
_insides_common.py); this one gathers their public names.
"""
from mnist_utils._insides_activations import pre_activations, show_activation_slopes
from mnist_utils._insides_batch_norm import batch_norm_values, show_batch_norm
from mnist_utils._insides_convolutions import (
    ConvolutionStep,
    convolution_step,
    filters_and_feature_maps,
    show_convolution,
    show_filters,
)
from mnist_utils._insides_shifts import (
    shift_digit,
    shifted_accuracy,
    shifted_predictions,
    show_shifted_digit,
)
from mnist_utils._insides_softmax import (
    logits_and_probabilities,
    show_logits,
    show_weight_templates,
    weight_templates,
)

__all__ = ["ConvolutionStep", "batch_norm_values", "convolution_step",
           "filters_and_feature_maps", "logits_and_probabilities", "pre_activations",
           "shift_digit", "shifted_accuracy", "shifted_predictions", "show_activation_slopes",
           "show_batch_norm", "show_convolution", "show_filters", "show_logits",
           "show_shifted_digit", "show_weight_templates", "weight_templates"]
