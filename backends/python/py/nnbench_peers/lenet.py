"""The LeNet-5 of mnist_cnn as the bench's hand-written loops build it (`hand_written_epoch` in
each framework module): the spec's network checked to be that stack, its layers handed back by
role, so that each framework writes the model out as its users do with the spec's widths."""

STACK = ("conv2d", "max_pool2d", "conv2d", "max_pool2d", "flatten", "dense", "dense", "dense")


def is_convolutional(network):
    """True when the network has convolution or pooling layers (core's Network::is_convolutional)."""
    return any(layer["type"] in ("conv2d", "max_pool2d", "avg_pool2d")
               for layer in network["layers"])


def layers(network):
    """(conv1, pool1, conv2, pool2, dense1, dense2, output) of a LeNet-5 network: ReLU
    convolutions at stride 1, max pools whose stride is their size, two ReLU dense layers and
    the softmax head. ValueError naming what differs otherwise."""
    stack = tuple(layer["type"] for layer in network["layers"])
    if stack != STACK:
        raise ValueError(
            f"the hand-written loop builds LeNet-5 ({' → '.join(STACK)}), not "
            f"{' → '.join(stack)}"
        )
    conv1, pool1, conv2, pool2, _, dense1, dense2, output = network["layers"]
    for name, conv in (("first", conv1), ("second", conv2)):
        if conv["stride"] != 1 or conv["activation"] != "relu":
            raise ValueError(
                f"the hand-written LeNet-5's {name} convolution is relu at stride 1, not "
                f"{conv['activation']} at stride {conv['stride']}"
            )
    for name, pool in (("first", pool1), ("second", pool2)):
        if pool["stride"] != pool["size"]:
            raise ValueError(
                f"the hand-written LeNet-5's {name} max pool has stride equal to its size "
                f"({pool['size']}), not {pool['stride']}"
            )
    activations = (dense1["activation"], dense2["activation"], output["activation"])
    if activations != ("relu", "relu", "identity") or network["head"] != "softmax_cross_entropy":
        raise ValueError(
            "the hand-written LeNet-5 has two relu dense layers and a softmax output, not "
            f"{', '.join(activations)} with head {network['head']}"
        )
    return conv1, pool1, conv2, pool2, dense1, dense2, output
