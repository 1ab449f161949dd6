// Healthcheck for the compose `mongo` service (run by mongosh inside the container):
//
//   mongosh --quiet --norc --file /opt/themenforum/mongo-init-replica.js
//
// The services use multi-document transactions, which MongoDB only allows on a
// replica set, so mongod runs with `--replSet rs0`. A fresh data volume holds no
// replica-set configuration yet: the first run of this script initiates a
// single-node set whose only member is `mongo:27017` (the compose service name,
// which the application containers resolve). Every later run just reports.
//
// Exit status 0 = healthy (this node is the writable primary of rs0),
// anything else = not (yet) healthy. It is idempotent and safe to run every few
// seconds, and it never re-initiates or reconfigures an existing set.
//
// Override the member address with MONGO_REPLICA_HOST (e.g. when the container
// is reached under another name).

const REPLICA_SET = "rs0";
const MEMBER_HOST =
  (typeof process !== "undefined" && process.env && process.env.MONGO_REPLICA_HOST) ||
  "mongo:27017";

function replicaSetStatus() {
  try {
    return db.adminCommand({ replSetGetStatus: 1 });
  } catch (err) {
    // mongosh throws for { ok: 0 } answers; keep the server's code for the caller.
    return { ok: 0, code: err.code, codeName: err.codeName, errmsg: err.message };
  }
}

let status = replicaSetStatus();

if (status.ok !== 1) {
  // 94 NotYetInitialized: fresh volume, no configuration yet.
  if (status.code === 94 || status.codeName === "NotYetInitialized") {
    let result;
    try {
      result = db.adminCommand({
        replSetInitiate: {
          _id: REPLICA_SET,
          members: [{ _id: 0, host: MEMBER_HOST }],
        },
      });
    } catch (err) {
      result = { ok: 0, code: err.code, codeName: err.codeName, errmsg: err.message };
    }
    // 23 AlreadyInitialized: another healthcheck run won the race; fine.
    if (result.ok !== 1 && result.code !== 23) {
      print("replSetInitiate failed: " + JSON.stringify(result));
      quit(1);
    }
    print("initiated replica set " + REPLICA_SET + " with member " + MEMBER_HOST);
  } else {
    print("replSetGetStatus failed: " + JSON.stringify(status));
    quit(1);
  }
  // The election takes a moment; the next healthcheck run reports healthy.
  quit(1);
}

if (status.set !== REPLICA_SET) {
  print("unexpected replica set name " + status.set + " (expected " + REPLICA_SET + ")");
  quit(1);
}

const hello = db.adminCommand({ hello: 1 });
if (hello.isWritablePrimary !== true) {
  print("not yet primary (state " + status.myState + ")");
  quit(1);
}

print("ok: primary of " + REPLICA_SET);
quit(0);
