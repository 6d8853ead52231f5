# python.install: installs the Python component into a scratch prefix and
# imports the package from there, away from the build tree (cwd = prefix),
# then solves and differentiates one fixed point with it.
set(prefix ${BUILD}/python-install-test)
file(REMOVE_RECURSE ${prefix})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --component python --prefix ${prefix}
  RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "cmake --install --component python failed")
endif()
set(check [=[
import torch, implicit
assert implicit.__file__.startswith(PREFIX), implicit.__file__
W = torch.full((3, 3), 0.1, dtype=torch.float64, requires_grad=True)
x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
z, info = implicit.fixed_point(lambda z: torch.tanh(z @ W.T + x), torch.zeros_like(x), W, x)
z.sum().backward()
assert info.forward.certified() and info.backward.certified(), info
print("imported from", implicit.__file__, "-", info.brief_report().splitlines()[0])
]=])
execute_process(COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${prefix}/${PACKAGE_DIR}
  ${PYTHON} -c "PREFIX = '${prefix}'\n${check}"
  WORKING_DIRECTORY ${prefix} RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the installed package did not import or solve")
endif()
