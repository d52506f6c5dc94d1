//! Every test gets a redis-server of its own. Tests of one binary run in parallel; two of them
//! once shared a server (the kernel handed out the same free port twice, the second server could
//! not bind it, and the first one answered its PING), so one test's interpreters were rung for
//! another test's calls. A server counts as started only when the process we spawned answers.
use crate::common;

use common::redis::TestRedis;

#[test]
fn a_server_on_a_taken_port_is_not_mistaken_for_ours() {
    let first = TestRedis::start();
    let second = TestRedis::start_on(first.port());
    let err = second
        .err()
        .expect("the port is taken: the second server must not start");
    assert!(
        err.contains(&first.port().to_string()),
        "the error names the port: {err}"
    );
}

#[test]
fn servers_started_together_are_distinct() {
    let servers: Vec<TestRedis> = std::thread::scope(|s| {
        let started: Vec<_> = (0..8).map(|_| s.spawn(TestRedis::start)).collect();
        started
            .into_iter()
            .map(|h| h.join().expect("start"))
            .collect()
    });
    for (i, server) in servers.iter().enumerate() {
        let mut con = redis::Client::open(server.url())
            .and_then(|c| c.get_connection())
            .expect("connect");
        let _: () = redis::cmd("SET")
            .arg("owner")
            .arg(i)
            .query(&mut con)
            .expect("set");
    }
    for (i, server) in servers.iter().enumerate() {
        let mut con = redis::Client::open(server.url())
            .and_then(|c| c.get_connection())
            .expect("connect");
        let owner: usize = redis::cmd("GET").arg("owner").query(&mut con).expect("get");
        assert_eq!(owner, i, "server {i} on port {} is shared", server.port());
    }
}
