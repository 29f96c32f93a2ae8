;; Runs for ever: the wall-time watchdog must stop it.
(module
  (memory 1)
  (func (export "_start")
    (loop $forever (br $forever))))
