// Deprecated: moved to implicit/adjoint/root_ift.hpp (the adjoint layer sits above
// fixed_point/ and system/, whose results it differentiates). This forwarding
// header goes in the next release.
#pragma once
#include "implicit/adjoint/root_ift.hpp"
