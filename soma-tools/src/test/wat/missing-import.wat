;; Imports a host function SomaStack does not provide: it must not instantiate.
(module
  (import "env" "read_host_secrets" (func $secrets (result i32)))
  (memory 1)
  (func (export "_start")
    (drop (call $secrets))))
