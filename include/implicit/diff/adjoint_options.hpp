// Deprecated: moved to implicit/adjoint/adjoint_options.hpp (the adjoint layer sits above
// fixed_point/ and system/, whose results it differentiates). This forwarding
// header goes in the next release.
#pragma once
#include "implicit/adjoint/adjoint_options.hpp"
