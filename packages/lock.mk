# How both packages write their locks (included by each Makefile, which defines BIN first and may
# set UV_SOURCES): uv, pinned in each requirements-dev.txt, compiles pyproject.toml's ranges.
# Pins already in a lock are kept while they fit the ranges; to take new releases:
# make lock LOCK_FLAGS=--upgrade (or --upgrade-package NAME). Needs PyPI.
LOCK_FLAGS ?=
UV_COMPILE = $(BIN)/uv pip compile --quiet --python-version 3.11 --annotation-style line \
	$(UV_SOURCES) --custom-compile-command "make lock" $(LOCK_FLAGS)

# $(call compile-lock,LOCK,ARGS): uv writes LOCK.new from ARGS, starting from LOCK's pins; LOCK is
# replaced only when that changed it, so an unchanged lock remakes no venv (nor the model).
define compile-lock
cp $(1) $(1).new
$(UV_COMPILE) $(2) -o $(1).new || { rm -f $(1).new; exit 1; }
cmp -s $(1).new $(1) && rm $(1).new || mv $(1).new $(1)
endef

# $(call install-deps,ARGS): a venv's pinned dependencies (ARGS: -r FILE and any --find-links),
# installed by uv, itself pinned in requirements-dev.txt and put in the venv by pip first: on a
# fresh machine uv took 7 s where pip took 72 s for the service's venv. --compile-bytecode, as
# pip does by default: where PYTHONDONTWRITEBYTECODE is set (our build machines), nothing else
# writes the .pyc files, and every process compiled scipy, scikit-learn and pandas again on import
# (importing sklearn.base took 7.5 s on a loaded machine, 2.1 s compiled; a score-houses worker
# starts with it).
UV_PIN = $(shell grep -m1 '^uv==' requirements-dev.txt | cut -d' ' -f1)
define install-deps
$(install-uv)
$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python $(1)
endef

# $(install-uv): uv alone, at that pin, into the venv (the service's make lock needs no more).
define install-uv
$(BIN)/python -m pip install --quiet --disable-pip-version-check $(UV_PIN)
endef
