// Run by the mongo-init service: make mongo1..3 the replica set rs0 once,
// then wait until it has a primary. Running it again changes nothing.
const members = [
  { _id: 0, host: "mongo1:27017" },
  { _id: 1, host: "mongo2:27017" },
  { _id: 2, host: "mongo3:27017" },
];
try {
  rs.status();
  print("replica set rs0 already initiated");
} catch (e) {
  if (e.codeName !== "NotYetInitialized") {
    throw e;
  }
  rs.initiate({ _id: "rs0", members: members });
  print("replica set rs0 initiated");
}
for (let i = 0; i < 120; i++) {
  const hello = db.hello();
  if (hello.primary) {
    print("primary: " + hello.primary);
    quit(0);
  }
  sleep(1000);
}
print("no primary after two minutes");
quit(1);
