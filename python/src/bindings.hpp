#pragma once
// The pieces of the extension module _implicit, one function per
// translation unit (options.cpp needs no LibTorch and compiles in seconds).

#include <pybind11/pybind11.h>

namespace implicit::python {

void bind_options(pybind11::module_& m);

}  // namespace implicit::python
