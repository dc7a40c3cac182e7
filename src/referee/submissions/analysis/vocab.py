"""Names of torch/numpy/builtin functions grouped by what they do to a value (copy it, view it, allocate,
draw random numbers), shared by the data-flow analysis and the rules."""

from __future__ import annotations

PASSTHROUGH_METHODS = frozenset({
    "clone", "detach", "contiguous", "view", "view_as", "reshape", "reshape_as", "to", "float", "half", "double",
    "bfloat16", "cpu", "cuda", "squeeze", "unsqueeze", "t", "permute", "transpose", "expand", "expand_as",
    "flatten", "type", "type_as", "narrow", "requires_grad_", "copy", "__getitem__", "values", "items", "keys",
    "numpy", "flip", "unflatten", "movedim", "as_strided", "select", "long", "int", "bool", "__copy__",
    "__deepcopy__", "result",
})
CONTAINER_READS = frozenset({"get", "setdefault", "pop", "popitem", "__getitem__", "popleft"})
PASSTHROUGH_ATTRS = frozenset({"T", "mT", "H", "mH", "data", "real", "imag"})
PASSTHROUGH_FUNCS = frozenset({
    "torch.clone", "copy.copy", "copy.deepcopy", "builtins.list", "builtins.tuple", "builtins.next",
    "builtins.iter", "builtins.reversed", "torch.Tensor.clone", "torch.Tensor.contiguous", "torch.Tensor.detach",
    "torch.reshape", "torch.squeeze", "torch.unsqueeze", "torch.t", "torch.permute", "torch.flatten",
    "torch.narrow", "torch.transpose", "torch.as_strided", "torch.detach", "numpy.asarray", "numpy.ascontiguousarray",
    "torch.Tensor.to", "torch.Tensor.view", "torch.Tensor.reshape", "torch.Tensor.float", "torch.Tensor.half",
})
LITERAL_FUNCS = frozenset({"torch.tensor", "torch.as_tensor", "numpy.array", "numpy.asarray", "torch.from_numpy",
                           "torch.Tensor", "torch.FloatTensor", "torch.cuda.FloatTensor", "torch.HalfTensor",
                           "torch.frombuffer", "numpy.frombuffer", "torch.DoubleTensor", "torch.LongTensor"})
ALLOC_FUNCS = frozenset({"torch.empty", "torch.empty_like", "torch.empty_strided", "torch.empty_permuted",
                         "numpy.empty", "numpy.empty_like", "torch.Tensor.new_empty", "torch.Tensor.new",
                         "torch.UntypedStorage", "torch.TypedStorage"})
LEGACY_CONSTRUCTORS = frozenset({"torch.Tensor", "torch.FloatTensor", "torch.cuda.FloatTensor", "torch.HalfTensor",
                                 "torch.cuda.HalfTensor", "torch.DoubleTensor", "torch.BFloat16Tensor"})
RNG_FUNCS = frozenset({
    "torch.rand", "torch.randn", "torch.randint", "torch.rand_like", "torch.randn_like", "torch.randint_like",
    "torch.randperm", "torch.normal", "torch.bernoulli", "torch.multinomial", "torch.poisson",
    "numpy.random.rand", "numpy.random.randn", "numpy.random.randint", "numpy.random.random",
    "numpy.random.normal", "numpy.random.uniform", "random.random", "random.gauss", "random.uniform",
})
RNG_METHODS = frozenset({"normal_", "uniform_", "random_", "bernoulli_", "exponential_", "geometric_",
                         "cauchy_", "log_normal_", "standard_normal", "normal", "uniform", "random", "integers"})
SUBCLASS_FACTORIES = frozenset({"torch.Tensor._make_subclass", "torch.Tensor._make_wrapper_subclass",
                                "torch._C._TensorBase._make_subclass"})
LAZY_HOOKS = frozenset({"__torch_function__", "__torch_dispatch__"})
TENSOR_BASES = frozenset({"torch.Tensor", "torch.nn.Parameter", "torch.nn.parameter.Parameter"})

SHAPE_ATTRS = frozenset({"shape", "dtype", "device", "ndim", "layout", "is_cuda", "requires_grad", "is_sparse"})
SHAPE_METHODS = frozenset({"size", "numel", "dim", "stride", "is_contiguous", "element_size", "nelement",
                           "get_device", "data_ptr", "storage_offset", "new_zeros", "new_ones", "new_empty",
                           "new_full", "type"})
SHAPE_FUNCS = frozenset({"zeros_like", "ones_like", "empty_like", "full_like", "len", "isinstance", "type", "id"})
READ_ONLY_CALLS = frozenset({"len", "print", "isinstance", "zeros_like", "ones_like", "empty_like", "full_like",
                             "rand_like", "randn_like", "id", "type", "repr", "str", "hash"})
