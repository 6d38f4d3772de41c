//! Sandbox tests over real sockets.

mod sandbox {
    mod amazon;
    mod dataverse;
    mod faults;
}
