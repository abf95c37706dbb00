export default function Contacts() {
  return null;
}
