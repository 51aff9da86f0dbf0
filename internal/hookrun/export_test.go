package hookrun

// WaitDelay is how long Run reads the output of a program that has exited.
const WaitDelay = waitDelay
