;; Starts at 60 MiB and grows its memory 1 MiB at a time, touching each new page, until growing
;; fails at the 64 MiB limit; then traps. Starting near the limit keeps the bomb cheap: every growth
;; copies the whole memory, so growing from 64 KiB copied about 2 GB and, on a loaded machine, took
;; longer than the tests' 1 s of wall time.
(module
  (memory 960)
  (func (export "_start")
    (loop $grow
      (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))
      (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4)) (i32.const 1))
      (br $grow))))
